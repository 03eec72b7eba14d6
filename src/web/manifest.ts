// What a built site tells its page about the model: the file `model.json` beside index.html.
// Written by the site builder in Node (from a restorer it loaded, so every value here has been
// checked against the weights), read by the page before it builds the same model. Pure data.
import type { ComponentSpec } from '../config/registry.ts';
import type { TemporalPlan } from '../infer/plan.ts';
import type { TileOptions } from '../infer/tile.ts';

/** The manifest's file name in a site. */
export const MANIFEST_FILE = 'model.json';
/** The weights' file name in a site: safetensors, PyTorch layout (as `stateDict(model, 'pytorch')` gives). */
export const WEIGHTS_FILE = 'weights.safetensors';
/** Bumped when the manifest's meaning changes, so that a page never misreads an older site. */
export const MANIFEST_VERSION = 1;

/** The model a site runs, and how (see {@link MANIFEST_FILE}). */
export interface SiteManifest {
  readonly version: number;
  /** Where the model came from, for the page's header. */
  readonly label: string;
  /**
   * 'image' when the model restores one frame from one frame; 'video' when it reads a window of
   * frames (the page then treats several images as the frames of a clip).
   */
  readonly kind: 'image' | 'video';
  /** The model spec, decoded, with any build-time overrides applied. */
  readonly model: ComponentSpec;
  readonly strategy: ComponentSpec;
  readonly plan: TemporalPlan;
  /** See `Restorer.sizeMultiple` and `Restorer.align`. */
  readonly sizeMultiple: number;
  readonly align: number;
  /** The seed the model's initial values are drawn from (they are all replaced by the weights). */
  readonly seed: number;
  /** Tiling the page uses unless the URL says otherwise (`?tile=N`). */
  readonly tile: TileOptions;
  /** The simdeblur version that built the site. */
  readonly builtWith: string;
}

/** Whether a restorer with this temporal plan restores images one at a time. */
export function kindOfPlan(plan: TemporalPlan): SiteManifest['kind'] {
  return plan.sampling.numFrames === 1 && !plan.wholeVideo && plan.sampling.sampling !== 'video' ? 'image' : 'video';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Checks the shape of a parsed `model.json`; throws naming the first bad key. */
export function checkManifest(value: unknown, source = MANIFEST_FILE): SiteManifest {
  const bad = (key: string, expected: string): never => {
    throw new Error(`${source}: ${key} must be ${expected}`);
  };
  if (!isObject(value)) return bad('the file', 'a JSON object');
  if (value.version !== MANIFEST_VERSION) bad('version', `${MANIFEST_VERSION} (rebuild the site with this version of simdeblur web)`);
  if (typeof value.label !== 'string') bad('label', 'a string');
  if (value.kind !== 'image' && value.kind !== 'video') bad('kind', "'image' or 'video'");
  if (!isObject(value.model) || typeof value.model.type !== 'string') bad('model', 'a model spec with a type');
  if (!isObject(value.strategy) || typeof value.strategy.type !== 'string') bad('strategy', 'a strategy spec with a type');
  if (!isObject(value.plan) || !isObject(value.plan.sampling)) bad('plan', 'a temporal plan');
  if (!isPositiveInt(value.sizeMultiple)) bad('sizeMultiple', 'a positive integer');
  if (!isPositiveInt(value.align)) bad('align', 'a positive integer');
  if (typeof value.seed !== 'number') bad('seed', 'a number');
  if (!isObject(value.tile) || !isPositiveInt(value.tile.tile) || typeof value.tile.overlap !== 'number') bad('tile', '{ tile, overlap }');
  return value as unknown as SiteManifest;
}
