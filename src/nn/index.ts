// The neural-network kit: functional layers with PyTorch semantics on NHWC tensors, and the
// parameter builder that names parameters as PyTorch's state_dict does.
export * from './params.ts';
export * from './init.ts';
export * from './conv.ts';
export * from './norm.ts';
export * from './activations.ts';
export * from './shuffle.ts';
export * from './interpolate.ts';
export * from './pool.ts';
export * from './layers.ts';
export * from './gates.ts';
