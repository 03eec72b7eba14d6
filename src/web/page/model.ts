// The page's model: the site's manifest and weights turned into a restorer with the same
// modules `simdeblur deblur` uses (the model registry, state-dict loading, the strategies).
import '../../models/index.ts';
import '../../engine/strategies/components.ts';
import { buildComponent } from '../../config/registry.ts';
import { parseSafetensors } from '../../io/safetensors.ts';
import { buildModel } from '../../models/define.ts';
import { loadStateDict } from '../../models/model.ts';
import { setFlowWeightsWarningSink } from '../../models/flow-weights.ts';
import type { Strategy } from '../../engine/strategy.ts';
import type { Restorer } from '../../infer/run.ts';
import { fetchOk } from './fetch-ok.ts';
import { checkManifest, MANIFEST_FILE, WEIGHTS_FILE, type SiteManifest } from '../manifest.ts';


/** A restorer the page built, and the manifest it was built from. */
export interface PageModel {
  readonly manifest: SiteManifest;
  readonly restorer: Restorer;
}

/** Reads the site's manifest and weights from `base` (the site's folder URL) and builds its restorer. */
export async function loadPageModel(base: string): Promise<PageModel> {
  const manifestUrl = new URL(MANIFEST_FILE, base);
  const manifest = checkManifest(await (await fetchOk(manifestUrl)).json(), manifestUrl.href);
  const weightsUrl = new URL(WEIGHTS_FILE, base);
  const { tensors } = parseSafetensors(new Uint8Array(await (await fetchOk(weightsUrl)).arrayBuffer()), weightsUrl.href);
  // Models with a pretrained flow network warn when built without its file; here the site's
  // weights, loaded next, hold that network.
  const sink = setFlowWeightsWarningSink(() => undefined);
  let model;
  try {
    model = buildModel(manifest.model, manifest.seed);
  } finally {
    setFlowWeightsWarningSink(sink);
  }
  try {
    loadStateDict(model, tensors, { layout: 'pytorch', strict: true });
  } catch (err) {
    model.dispose();
    throw new Error(`${weightsUrl.href}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const strategy = buildComponent<Strategy>('strategy', manifest.strategy);
  return { manifest, restorer: { model, params: model.params, strategy, plan: manifest.plan, sizeMultiple: manifest.sizeMultiple, align: manifest.align } };
}
