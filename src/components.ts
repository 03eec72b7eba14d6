// Every built-in component, registered in one place. Importing this module (or the package's
// entry point, which re-exports it) makes every model, loss, optimiser, schedule, dataset,
// augmentation and strategy type known to the experiment codec, so decoding an experiment never
// depends on which other modules happened to be imported.
export * as models from './models/index.ts';
export * as losses from './losses/components.ts';
export * as optim from './optim/components.ts';
export * as schedules from './optim/schedule-components.ts';
export * as datasets from './data/components.ts';
export * as augment from './data/augment-components.ts';
export * as strategies from './engine/strategies/components.ts';
export { term } from './losses/components.ts';
export { baseLr } from './optim/components.ts';
export { stepUnit } from './optim/schedule-components.ts';
