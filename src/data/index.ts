// Datasets as live objects, for training loops composed by hand (experiments name them with
// the `datasets` components instead).
export type { Dataset, Sample, ClipShape } from './dataset.ts';
export { syntheticDataset, memoryDataset, syntheticDefaults, type SyntheticOptions } from './synthetic.ts';
export { goproDataset, dvdDataset, bsdDataset, redsDataset, folderDataset, DatasetProblemsError, type FrameDataset, type GoproOptions, type DvdOptions, type BsdOptions, type RedsOptions, type FolderOptions } from './readers.ts';
export { epochBatches, batchesPerEpoch, type Batch, type LoaderOptions } from './loader.ts';
export { datasetSource, openParallelLoader, parallelEpochBatches, type DatasetSource, type ParallelLoader, type ParallelOptions } from './parallel-loader.ts';
export { randomCrop, hflip, vflip, transpose, rot90, temporalReverse, type AugmentSpec } from './augment.ts';
export { DataError } from './image.ts';
