// Direct calls of TensorFlow ops on the native backend, for the fused layers. Each tfjs op is
// one eager TensorFlow op with its own output allocation and ~50-100 µs of fixed cost (tape,
// kernel dispatch, shape tensors for reshapes), so a layer written as a few native ops with a
// hand-written gradient runs several times faster than the same layer composed of tfjs ops.
// Every caller keeps the tfjs composition as the pure-JS fallback (`isNative()` false).
import { tf, isNative, nativeBackend } from '../runtime/index.ts';
import type { NativeAttr } from '../runtime/index.ts';
import type { Tensor } from '@tensorflow/tfjs';

export type { NativeAttr } from '../runtime/index.ts';

type NativeTensor = Parameters<ReturnType<typeof nativeBackend>['executeSingleOutput']>[2][number];

/** Runs one single-output TensorFlow op by name. */
export function op(name: string, attrs: readonly NativeAttr[], inputs: readonly Tensor[]): Tensor {
  return nativeBackend().executeSingleOutput(name, attrs as NativeAttr[], inputs as unknown as NativeTensor[]) as unknown as Tensor;
}

/** Runs one TensorFlow op with `n` outputs. */
export function ops(name: string, attrs: readonly NativeAttr[], inputs: readonly Tensor[], n: number): Tensor[] {
  return nativeBackend().executeMultipleOutputs(name, attrs as NativeAttr[], inputs as unknown as NativeTensor[], n) as unknown as Tensor[];
}

/** Attribute builders (the binding's enum values are read when called, so only on native). */
export const attr = {
  /** A float32 type attribute (`T`, `U`, ...). */
  float32: (name = 'T'): NativeAttr => {
    const b = nativeBackend().binding;
    return { name, type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
  },
  int32Type: (name: string): NativeAttr => {
    const b = nativeBackend().binding;
    return { name, type: b.TF_ATTR_TYPE, value: b.TF_INT32 };
  },
  bool: (name: string, value: boolean): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_BOOL, value }),
  int: (name: string, value: number | number[]): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_INT, value }),
  float: (name: string, value: number): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_FLOAT, value }),
  string: (name: string, value: string): NativeAttr => ({ name, type: nativeBackend().binding.TF_ATTR_STRING, value }),
};

/** Attributes of elementwise float ops (`Mul`, `AddV2`, `Relu`, ...). */
export const floatT = (): NativeAttr[] => [attr.float32('T')];

/** Attributes of reductions (`Sum`, `Mean`) over an int32 axis tensor. */
export const reduceAttrs = (keepDims: boolean): NativeAttr[] => [attr.float32('T'), attr.bool('keep_dims', keepDims), attr.int32Type('Tidx')];

/** An int32 constant (axes, shapes) for an op input. */
export function int32(values: number | readonly number[]): Tensor {
  return typeof values === 'number' ? tf.scalar(values, 'int32') : tf.tensor1d([...values], 'int32');
}

/** Sum or mean over `axes`, one native op. */
export function reduce(kind: 'Sum' | 'Mean', x: Tensor, axes: number | readonly number[], keepDims: boolean): Tensor {
  const ax = int32(axes);
  const y = op(kind, reduceAttrs(keepDims), [x, ax]);
  ax.dispose();
  return y;
}

const sameShape = (x: Tensor, shape: readonly number[]): boolean => x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i]);

/** Reshape (a tfjs op, recorded for gradients) that runs no op when the shape is already right. */
export function reshapeTo(x: Tensor, shape: readonly number[]): Tensor {
  return sameShape(x, shape) ? x : x.reshape([...shape]);
}

/**
 * Reshape of a float32 tensor as one native op, bypassing tfjs's kernel dispatch: for use
 * inside custom-gradient functions only (it is not recorded for gradients). `shape` must be
 * fully specified.
 */
export function reshapeRaw(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x, shape)) return x;
  const s = int32(shape);
  const y = op('Reshape', [attr.float32('T'), attr.int32Type('Tshape')], [x, s]);
  s.dispose();
  return y;
}

/** BiasAdd / BiasAddGrad over the last (channel) axis. */
export const biasAttrs = (): NativeAttr[] => [attr.float32('T'), attr.string('data_format', 'NHWC')];

/**
 * Rows of a tensor (gather along axis 0) by computed indices. On the native backend this is
 * TensorFlow's GatherV2 called directly: tfjs-node's gather kernel first reads every index back
 * into JavaScript to check its range, which costs more than the gather itself and makes the op
 * depend on data (TensorFlow checks ranges too). Not differentiable: callers give the gradient.
 */
export function gatherRows(x: Tensor, index: Tensor): Tensor {
  if (!isNative()) return tf.gather(x, index);
  const axis = int32(0);
  const y = op('GatherV2', [attr.int('batch_dims', 0), attr.float32('Tparams'), attr.int32Type('Tindices'), attr.int32Type('Taxis')], [x, index, axis]);
  axis.dispose();
  return y;
}
