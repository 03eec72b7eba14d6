// File formats and crash-safe writes: safetensors (PyTorch's weight files) and atomic writes.
export {
  readSafetensors,
  writeSafetensors,
  parseSafetensors,
  serializeSafetensors,
  toTensor,
  fromTensor,
  stateDictFromPytorch,
  stateDictToPytorch,
  fromPytorchLayout,
  toPytorchLayout,
  tensorTable,
  type RawTensor,
  type SafeDType,
  type SafetensorsContents,
  type SafetensorsReadOptions,
  type ParamKind,
} from './safetensors.ts';
export { writeFileAtomic, writeFileAtomicSync, writeDirAtomic } from './atomic.ts';
export { readJsonl } from './jsonl.ts';
export { readTorchStateDict, type TorchReadOptions, type TorchStateDict } from './pth/index.ts';
