import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepFrom, mirror, planSteps, type TemporalPlan } from '../src/infer/plan.ts';
import { samplingDefaults, type SamplingOptions } from '../src/data/sampling.ts';

const plan = (s: Partial<SamplingOptions>, extra: Partial<TemporalPlan> = {}): TemporalPlan => ({ sampling: { ...samplingDefaults, ...s }, context: 0, wholeVideo: false, ...extra });

/** Every frame restored exactly once when the steps' in-range targets are taken first come, first served. */
function coverage(length: number, p: TemporalPlan): number[] {
  const seen: number[] = [];
  for (const s of planSteps(length, p)) for (const t of s.targets) if (t >= 0 && t < length && !seen.includes(t)) seen.push(t);
  return seen.sort((a, b) => a - b);
}

test('mirror reflects positions into the video without repeating the edge frame', () => {
  assert.deepEqual([-3, -2, -1, 0, 1, 4, 5, 6, 7].map((i) => mirror(i, 5)), [3, 2, 1, 0, 1, 4, 3, 2, 1]);
  assert.deepEqual([-2, 0, 3].map((i) => mirror(i, 1)), [0, 0, 0]);
  assert.deepEqual([-5, 9].map((i) => mirror(i, 3)), [1, 1]);
});

test('an image model runs once per frame on that frame', () => {
  const steps = planSteps(3, plan({ numFrames: 1 }));
  assert.deepEqual(steps, [0, 1, 2].map((f) => ({ input: [f], gtFrames: 1, targets: [f] })));
});

test('centre windows mirror the frames past either end (interval honoured)', () => {
  const steps = planSteps(6, plan({ sampling: 'n_c', numFrames: 5 }));
  assert.equal(steps.length, 6);
  assert.deepEqual(steps[0], { input: [2, 1, 0, 1, 2], gtFrames: 1, targets: [0] });
  assert.deepEqual(steps[5], { input: [3, 4, 5, 4, 3], gtFrames: 1, targets: [5] });
  assert.deepEqual(planSteps(6, plan({ sampling: 'n_c', numFrames: 3, interval: 2 }))[1]!.input, [1, 1, 3]);
  // dvd_test anchors are for the benchmark; over a video it is n_c at every frame.
  assert.deepEqual(planSteps(4, plan({ sampling: 'dvd_test', numFrames: 3 })).map((s) => s.input), [[1, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 2]]);
});

test('left and right windows restore their first / last frame', () => {
  assert.deepEqual(planSteps(4, plan({ sampling: 'n_l', numFrames: 3 }))[3], { input: [3, 2, 1], gtFrames: 1, targets: [3] });
  assert.deepEqual(planSteps(4, plan({ sampling: 'n_r', numFrames: 3 }))[0], { input: [2, 1, 0], gtFrames: 1, targets: [0] });
});

test('multi-target windows tile the video, the last moved back to end at the last frame', () => {
  const nn = planSteps(10, plan({ sampling: 'n_n', numFrames: 4 }));
  assert.deepEqual(nn.map((s) => s.input), [[0, 1, 2, 3], [4, 5, 6, 7], [6, 7, 8, 9]]);
  assert.deepEqual(coverage(10, plan({ sampling: 'n_n', numFrames: 4 })), [...Array(10).keys()]);
  // strcnn: n inputs, n-4 targets two frames in; the ends get mirrored context.
  const st = planSteps(9, plan({ sampling: 'strcnn', numFrames: 7 }));
  assert.deepEqual(st[0], { input: [2, 1, 0, 1, 2, 3, 4], gtFrames: 3, targets: [0, 1, 2] });
  assert.deepEqual(st[st.length - 1]!.targets, [6, 7, 8]);
  assert.deepEqual(st[st.length - 1]!.input, [4, 5, 6, 7, 8, 7, 6]);
  // Strided n_n covers every frame too, and a video shorter than the window still gets all.
  assert.deepEqual(coverage(11, plan({ sampling: 'n_n', numFrames: 3, interval: 2 })), [...Array(11).keys()]);
  assert.deepEqual(coverage(2, plan({ sampling: 'n_n', numFrames: 4 })), [0, 1]);
  assert.deepEqual(planSteps(2, plan({ sampling: 'n_n', numFrames: 4 }))[0]!.input, [0, 1, 0, 1]);
});

test('whole-video runs: one step, with the strategy context and strcnn margins mirrored', () => {
  assert.deepEqual(planSteps(4, plan({ sampling: 'video' })), [{ input: [0, 1, 2, 3], gtFrames: 4, targets: [0, 1, 2, 3] }]);
  assert.deepEqual(planSteps(4, plan({ sampling: 'video' }, { context: 1 })), [{ input: [1, 0, 1, 2, 3, 2], gtFrames: 6, targets: [0, 1, 2, 3] }]);
  assert.deepEqual(planSteps(3, plan({ sampling: 'strcnn', numFrames: 12 }, { wholeVideo: true })), [{ input: [2, 1, 0, 1, 2, 1, 0], gtFrames: 3, targets: [0, 1, 2] }]);
  assert.deepEqual(planSteps(3, plan({ sampling: 'n_n', numFrames: 12 }, { wholeVideo: true }))[0]!.input, [0, 1, 2]);
});

test('keepFrom tells which frames later steps still need', () => {
  const steps = planSteps(6, plan({ sampling: 'n_c', numFrames: 3 }));
  // After step 0 (frame 0), step 1 needs frame 0; after step 5 nothing is needed.
  assert.deepEqual(keepFrom(steps), [0, 1, 2, 3, 4, Infinity]);
  assert.throws(() => planSteps(0, plan({})), /at least one frame/);
});
