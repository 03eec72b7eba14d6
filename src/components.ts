// Every built-in component, registered in one place. Importing this module (or the package's
// entry point, which re-exports it) makes every model, loss, optimiser, schedule, dataset,
// augmentation and strategy type known to the experiment codec, so decoding an experiment never
// depends on which other modules happened to be imported.
/**
 * The model zoo: one combinator per network (`models.nafnet(...)`), each a `model` component of the
 * experiment language.
 */
export * as models from './models/index.ts';
/** Loss components (`losses.charbonnier()`); an experiment weights them with `term(spec, weight)`. */
export * as losses from './losses/components.ts';
/** Optimizer components: Adam, AdamW and SGD. */
export * as optim from './optim/components.ts';
/** Learning-rate schedule components, stepped per iteration or per epoch. */
export * as schedules from './optim/schedule-components.ts';
/**
 * Dataset components: the deblurring benchmarks read from disk, a folder of frames, and a synthetic
 * dataset.
 */
export * as datasets from './data/components.ts';
/** Augmentation components applied to training samples, in the order an experiment lists them. */
export * as augment from './data/augment-components.ts';
/** Training strategy components: how a model's outputs are paired with the ground truth for the loss. */
export * as strategies from './engine/strategies/components.ts';
export { term } from './losses/components.ts';
export { baseLr } from './optim/components.ts';
export { stepUnit } from './optim/schedule-components.ts';
