// Synthetic motion-blur datasets from still photographs (see docs/synth.md).
export { synthesize, synthSettings, MANIFEST } from './synthesize.ts';
export type { SynthOptions, SynthProgress, SynthResult, SynthSettings, SynthSplitResult } from './synthesize.ts';
export { layoutNames, layoutOf, isLayoutName, splitNames } from './layout.ts';
export type { Layout, LayoutName, SplitName, DatasetRoots, FrameFiles, BlurTarget, ImageFormat } from './layout.ts';
export { defaultMotion, poseAt, randomTrajectory, subFrameTimes } from './trajectory.ts';
export type { MotionOptions, Pose, Trajectory, Wave, TranslationWave } from './trajectory.ts';
export { SubFrameAverager, addNoise, averageFrames, fromBytes, renderView, rgbImage, toBytes, viewAffine, viewCorners } from './render.ts';
export type { Affine, Averaging, Interpolation, NoiseOptions, RgbImage, View } from './render.ts';
export { checkSubFrames, checkVideoOptions, defaultMaxStep, exposureTravel, planVideo, renderFrame, renderSubFrames, subFrameCount } from './video.ts';
export type { RenderOptions, RenderedFrame, SubFrames, VideoOptions, VideoPlan } from './video.ts';
export { defaultImagesDir, listPhotos, readPhoto, resizedPhoto } from './photo.ts';
export type { Photo } from './photo.ts';
export { defaultJpegQuality, encodeImage, jpegRoundTrip } from './encode.ts';
