// The leaderboard's files in --out: leaderboard.json ({ protocol, machine, rows }),
// leaderboard.md (a table ready for a README, with its conditions), leaderboard.html (one
// self-contained page: sortable table, charts, one test crop restored by every model) and the
// charts as leaderboard.svg / leaderboard.png for documentation.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic.ts';
import { chartConfig, renderSvg, svgToPng, type TopLevelSpec } from './charts.ts';
import { dataUrl, escapeHtml, page, sortableTable } from './html.ts';
import type { Machine } from './machine.ts';
import type { Protocol } from './protocol.ts';
import { showcaseFile, type Row } from './rows.ts';
import { columns, conditions, ranked } from './table.ts';

/** Everything the outputs are made of. */
export interface Leaderboard {
  readonly protocol: Protocol;
  readonly protocolHash: string;
  readonly machine: Machine;
  readonly rows: readonly Row[];
  readonly date: Date;
}

/** The files written, by kind. */
export interface OutputFiles {
  readonly json: string;
  readonly markdown: string;
  readonly html: string;
  readonly svg: string;
  readonly png: string;
}

/** The Markdown table with its conditions. */
export function leaderboardMarkdown(lb: Leaderboard): string {
  const rows = ranked(lb.rows);
  const cols = columns(lb.protocol.cost.size);
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `## Leaderboard: ${lb.protocol.name}`,
    '',
    ...(lb.protocol.description ? [lb.protocol.description, ''] : []),
    ...conditions(lb.protocol, lb.protocolHash, lb.machine, lb.rows, lb.date).map((l) => `${l}  `),
    '',
    `| ${cols.map((c) => cell(c.head)).join(' | ')} |`,
    `| ${cols.map((c) => (c.kind === 'number' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r, i) => `| ${cols.map((c) => cell(c.text(r, i))).join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}

const point = (r: Row) => ({
  model: r.model,
  psnr: r.psnr,
  trainSeconds: r.trainSecondsPerIter * r.iterations,
  gmacs: r.macsPerFrame / 1e9,
});

/** PSNR against training time and against GMACs per frame, side by side, with the blurry input's PSNR as a line. */
export function chartSpec(lb: Leaderboard): TopLevelSpec {
  const values = lb.rows.map(point);
  const inputs = lb.rows.map((r) => r.inputPsnr).filter((v): v is number => v !== null);
  // One input line when every model was scored on the same frames (then they agree).
  const baseline = inputs.length > 0 && inputs.every((v) => Math.abs(v - inputs[0]!) < 1e-9) ? inputs[0]! : undefined;
  const panel = (field: 'trainSeconds' | 'gmacs', title: string) => {
    const x = { field, type: 'quantitative' as const, title, scale: { type: 'log' as const, nice: false, padding: 12 } };
    const y = { field: 'psnr', type: 'quantitative' as const, title: 'PSNR (dB)', scale: { zero: false, padding: 12 } };
    return {
      width: 380,
      height: 280,
      layer: [
        ...(baseline !== undefined
          ? [
              { data: { values: [{ psnr: baseline }] }, mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888' }, encoding: { y } },
              { data: { values: [{ psnr: baseline, label: 'blurry input' }] }, mark: { type: 'text' as const, align: 'left' as const, baseline: 'bottom' as const, x: 4, dy: -2, color: '#888', fontSize: 10 }, encoding: { y, text: { field: 'label' } } },
            ]
          : []),
        { data: { values }, mark: { type: 'point' as const, filled: true, size: 70 }, encoding: { x, y, color: { field: 'model', type: 'nominal' as const, legend: null }, tooltip: [{ field: 'model' }, { field: 'psnr', format: '.2f' }, { field, format: '.3g' }] } },
        { data: { values }, mark: { type: 'text' as const, align: 'left' as const, dx: 7, dy: -6, fontSize: 10 }, encoding: { x, y, text: { field: 'model' } } },
      ],
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Leaderboard ${lb.protocol.name}: PSNR against training time and against compute`,
    config: chartConfig,
    hconcat: [panel('trainSeconds', 'training time (s, log scale)'), panel('gmacs', `GMACs per frame at ${lb.protocol.cost.size[1]}×${lb.protocol.cost.size[0]} (log scale)`)],
  } as TopLevelSpec;
}

/** Panel `i` of a showcase strip (panels side by side, `n` of them): a PNG data URL and its size. */
async function panel(file: string, i: number, n: number): Promise<{ src: string; width: number }> {
  const img = sharp(fs.readFileSync(file));
  const { width, height } = await img.metadata();
  const w = Math.floor(width! / n);
  return { src: dataUrl(await img.extract({ left: i * w, top: 0, width: w, height: height! }).png().toBuffer(), 'image/png'), width: w };
}

async function showcaseHtml(out: string, rows: readonly Row[]): Promise<string> {
  const withImage = rows.filter((r) => fs.existsSync(showcaseFile(out, r.hash)));
  if (withImage.length === 0) return '';
  // Strips are blurry | restored | sharp (restored | sharp when the blurry frame is not comparable).
  const strip = async (r: Row) => {
    const file = showcaseFile(out, r.hash);
    const { width, height } = await sharp(fs.readFileSync(file)).metadata();
    return { file, n: Math.round(width! / height!) >= 3 ? 3 : 2 };
  };
  // Small crops are shown enlarged (pixels kept sharp by the page's style).
  const fig = (p: { src: string; width: number }, caption: string) =>
    `<figure><img src="${p.src}" width="${p.width < 160 ? 2 * p.width : p.width}" alt="${escapeHtml(caption)}"><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
  const first = await strip(withImage[0]!);
  const figures: string[] = [];
  if (first.n === 3) figures.push(fig(await panel(first.file, 0, 3), 'blurry input'));
  for (const r of withImage) {
    const s = await strip(r);
    figures.push(fig(await panel(s.file, s.n - 2, s.n), `${r.model} (${r.psnr.toFixed(2)} dB)`));
  }
  figures.push(fig(await panel(first.file, first.n - 1, first.n), 'sharp'));
  return `<h2>One test crop, restored by every model</h2>\n<div class="crops">${figures.join('\n')}</div>`;
}

/** The self-contained HTML page. */
export async function leaderboardHtml(out: string, lb: Leaderboard, chartSvg: string): Promise<string> {
  const rows = ranked(lb.rows);
  const cols = columns(lb.protocol.cost.size);
  const table = sortableTable(
    cols.map((c) => ({ text: c.head, kind: c.kind })),
    rows.map((r, i) => cols.map((c) => ({ text: c.text(r, i), kind: c.kind, ...(c.value ? { value: c.value(r) } : {}) }))),
  );
  const body = [
    `<h1>Leaderboard: ${escapeHtml(lb.protocol.name)}</h1>`,
    lb.protocol.description ? `<p>${escapeHtml(lb.protocol.description)}</p>` : '',
    `<p class="conditions">${conditions(lb.protocol, lb.protocolHash, lb.machine, lb.rows, lb.date).map(escapeHtml).join('<br>')}</p>`,
    table,
    '<p class="conditions">Click a column heading to sort. Hashes identify each model\'s experiment (its rows/&lt;hash&gt;.json holds the versions and the run directory).</p>',
    `<h2>Accuracy against cost</h2>\n<div class="charts">${chartSvg}</div>`,
    await showcaseHtml(out, rows),
  ];
  return page(`Leaderboard ${lb.protocol.name}`, body.filter((s) => s !== '').join('\n'));
}

/** Writes the five output files into `out` (each atomically). */
export async function writeOutputs(out: string, lb: Leaderboard): Promise<OutputFiles> {
  const files: OutputFiles = {
    json: path.join(out, 'leaderboard.json'),
    markdown: path.join(out, 'leaderboard.md'),
    html: path.join(out, 'leaderboard.html'),
    svg: path.join(out, 'leaderboard.svg'),
    png: path.join(out, 'leaderboard.png'),
  };
  const svg = await renderSvg(chartSpec(lb));
  const json = { protocol: lb.protocol, protocolHash: lb.protocolHash, machine: lb.machine, date: lb.date.toISOString(), rows: ranked(lb.rows) };
  await writeFileAtomic(files.json, `${JSON.stringify(json, null, 2)}\n`);
  await writeFileAtomic(files.markdown, leaderboardMarkdown(lb));
  await writeFileAtomic(files.svg, svg);
  await writeFileAtomic(files.png, await svgToPng(svg));
  await writeFileAtomic(files.html, await leaderboardHtml(out, lb, svg));
  return files;
}
