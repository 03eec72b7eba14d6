// Charts rendered in Node: a Vega-Lite spec compiled to Vega and drawn as SVG text (no browser,
// no canvas), and SVG rasterised to PNG with sharp for viewers that show no SVG.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import sharp from 'sharp';

export type { TopLevelSpec } from 'vega-lite';

/** The SVG of a Vega-Lite spec. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG at `scale` times its size (2: sharp on high-density screens). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .flatten({ background: '#ffffff' })
    .png()
    .toBuffer();
}

/** Common look of every chart. */
export const chartConfig = {
  font: 'Helvetica, Arial, sans-serif',
  background: '#ffffff',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  title: { fontSize: 14, anchor: 'start' as const },
  legend: { labelFontSize: 11, titleFontSize: 11 },
};
