// Safe reading of PyTorch checkpoints (`torch.save` files): no Python, and nothing in the file is
// ever run. See docs/weights.md.
export { readTorchStateDict, loadCheckpoint, parseCheckpoint, materialise, Storage, TensorRef } from './torch.ts';
export type { TorchReadOptions, TorchStateDict, LoadedCheckpoint } from './torch.ts';
export { unpickle, PyDict, PyTuple, PySet, RefusedGlobalError } from './pickle.ts';
export type { PyCallable, PickleOptions } from './pickle.ts';
export { ZipArchive } from './zip.ts';
