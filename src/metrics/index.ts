export { psnr, psnrPerImage } from './psnr.ts';
export { ssim, ssimPerImage, ssimMap } from './ssim.ts';
export { MetricAccumulator, type Scores, type MeanScores, type FrameRecord } from './accumulator.ts';
