// Which zoo models the test-time local converter applies to: those whose options take `tlc`
// (see tlc-ops.ts). Derived from the model definitions, so adding the option to a model is the
// one place that says it supports TLC.
import { listComponents } from '../config/registry.ts';
import './index.ts';

/** Model types that accept the `tlc` option (they have global operations TLC makes local). */
export const TLC_MODELS: ReadonlySet<string> = new Set(listComponents('model').filter((c) => c.optional.includes('tlc')).map((c) => c.type));
