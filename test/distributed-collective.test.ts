// The collective layer on this process alone (a one-worker cluster): the real ops, their
// results, and that they leave no tensors behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/runtime/index.ts';
import { Collective } from '../src/distributed/collective.ts';
import { allReduceFlat, assertSameState, collectiveReplicas, gatherJson, meanOf } from '../src/distributed/replicas.ts';
import { freePorts } from '../src/distributed/launcher.ts';
import { probeCollective } from '../src/setup/collective.ts';
import { bindingPath, packageDir } from '../src/setup/native.ts';

const pkg = packageDir('@tensorflow/tfjs-node');
const unavailable = process.env.SIMDEBLUR_BACKEND === 'cpu' ? 'pure-JS backend' : pkg !== undefined && probeCollective(bindingPath(pkg)).ok ? false : 'the native binding has no collective ops (see simdeblur setup)';

test('collectives of a one-worker cluster: mean, pieces, gather, checks; no tensor left behind', { skip: unavailable }, async () => {
  const [port] = await freePorts(1);
  const c = Collective.join({ addresses: [`127.0.0.1:${port}`], rank: 0 }, { timeoutSeconds: 10, joinTimeoutSeconds: 10 });
  assert.ok(c.devices.some((d) => d.startsWith('/job:worker/replica:0/task:0/device:CPU:')), c.devices.join(', '));
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const b = tf.tensor1d([5, 6, 7]);
  const n = tf.scalar(3, 'int32');
  const before = tf.memory().numTensors;
  const [ma, mb, mn] = meanOf(c, [a, b, n]);
  assert.deepEqual(ma!.shape, [2, 2]);
  assert.deepEqual(Array.from(ma!.dataSync()), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(mb!.dataSync()), [5, 6, 7]);
  assert.equal(mn!.dtype, 'int32');
  tf.dispose([ma!, mb!, mn!]);
  const long = tf.range(0, 10, 1, 'float32');
  const pieces = allReduceFlat(c, long, 'sum', 3);
  assert.deepEqual(Array.from(pieces.dataSync()), Array.from(long.dataSync()));
  tf.dispose([long, pieces]);
  assert.deepEqual(gatherJson(c, { x: [1, NaN, -Infinity], s: 'é' }), [{ x: [1, NaN, -Infinity], s: 'é' }]);
  assertSameState(c, { a, b, n }, 'in a test');
  const r = collectiveReplicas(c, { checkEvery: 0 });
  assert.equal(r.any(false), false);
  assert.equal(r.any(true), true);
  const summed = r.sum(a);
  assert.deepEqual(summed.shape, [2, 2]);
  assert.deepEqual(Array.from(summed.dataSync()), [1, 2, 3, 4]);
  summed.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.ok(c.issued >= 8);
  assert.deepEqual(c.unhealthyPeers(), []);
  tf.dispose([a, b, n]);
});
