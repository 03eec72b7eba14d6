// A training report: one self-contained HTML page with the curves of one or several runs read
// from their log.jsonl — training loss, learning rate, validation PSNR and SSIM, several runs
// overlaid — the blurry input's PSNR as a dashed line and the best checkpoint marked, so that
// curves can be looked at without Python or TensorBoard. The curves' data is embedded too
// (`<script type="application/json" id="report-data">`).
import { chartConfig, renderSvg, type TopLevelSpec } from './charts.ts';
import { escapeHtml, page, sortableTable } from './html.ts';
import type { RunLog } from './run-log.ts';
import { formatDuration } from '../engine/hooks/progress.ts';

type Point = Record<string, number | string | null>;

const lineChart = (title: string, values: readonly Point[], y: { field: string; title: string; log?: boolean }, extra: readonly object[] = []) => ({
  title,
  width: 460,
  height: 260,
  layer: [
    {
      data: { values },
      mark: { type: 'line' as const, point: values.length < 60 },
      encoding: {
        x: { field: 'iteration', type: 'quantitative' as const, title: 'iteration' },
        y: { field: y.field, type: 'quantitative' as const, title: y.title, scale: y.log ? { type: 'log' as const } : { zero: false } },
        color: { field: 'run', type: 'nominal' as const, title: 'run' },
        tooltip: [{ field: 'run' }, { field: 'iteration' }, { field: y.field, format: '.4g' }],
      },
    },
    ...extra,
  ],
});

/** The report's charts as one Vega-Lite spec (two rows of two). */
export function reportSpec(runs: readonly RunLog[]): TopLevelSpec {
  const steps = runs.flatMap((r) => r.steps.map((s) => ({ run: r.name, iteration: s.iteration, loss: s.loss, lr: s.lr })));
  const vals = runs.flatMap((r) => r.validations.map((v) => ({ run: r.name, iteration: v.iteration, psnr: v.psnr, ssim: v.ssim })));
  const inputs = runs.flatMap((r) => {
    const last = [...r.validations].reverse().find((v) => v.inputPsnr !== null);
    return last ? [{ run: r.name, inputPsnr: last.inputPsnr, label: `${r.name}: blurry input` }] : [];
  });
  const best = runs.flatMap((r) => (r.best ? [{ run: r.name, iteration: r.best.iteration, psnr: r.best.psnr, ssim: r.best.ssim, label: `best ${r.best.psnr.toFixed(2)}` }] : []));
  const color = { field: 'run', type: 'nominal' as const, title: 'run' };
  const bestMarks = (field: 'psnr' | 'ssim') => [
    {
      data: { values: best },
      mark: { type: 'point' as const, shape: 'diamond', size: 140, filled: true, stroke: '#000', strokeWidth: 1 },
      encoding: { x: { field: 'iteration', type: 'quantitative' as const }, y: { field, type: 'quantitative' as const }, color, tooltip: [{ field: 'run' }, { field: 'iteration', title: 'best checkpoint' }, { field, format: '.4f' }] },
    },
    // Labels only for a single run: several would overlap where the runs end together.
    ...(field === 'psnr' && runs.length === 1
      ? [{ data: { values: best }, mark: { type: 'text' as const, dy: -12, fontSize: 10 }, encoding: { x: { field: 'iteration', type: 'quantitative' as const }, y: { field, type: 'quantitative' as const }, text: { field: 'label' } } }]
      : []),
  ];
  const baseline = [
    { data: { values: inputs }, mark: { type: 'rule' as const, strokeDash: [5, 4] }, encoding: { y: { field: 'inputPsnr', type: 'quantitative' as const }, color, tooltip: [{ field: 'label' }, { field: 'inputPsnr', format: '.2f' }] } },
    { data: { values: inputs.slice(0, 1).map((v) => ({ ...v, label: 'blurry input' })) }, mark: { type: 'text' as const, align: 'left' as const, baseline: 'bottom' as const, x: 4, dy: -2, fontSize: 10, color: '#666' }, encoding: { y: { field: 'inputPsnr', type: 'quantitative' as const }, text: { field: 'label' } } },
  ];
  const positive = steps.every((s) => s.loss > 0);
  const charts = [
    lineChart('training loss', steps, { field: 'loss', title: `loss${positive ? ' (log scale)' : ''}`, log: positive }),
    lineChart('learning rate', steps, { field: 'lr', title: 'learning rate' }),
    ...(vals.length > 0
      ? [
          lineChart('validation PSNR (dashed: the blurry input; ◆: best checkpoint)', vals, { field: 'psnr', title: 'PSNR (dB)' }, [...baseline, ...bestMarks('psnr')]),
          lineChart('validation SSIM (◆: best checkpoint)', vals, { field: 'ssim', title: 'SSIM' }, bestMarks('ssim')),
        ]
      : []),
  ];
  const rows = [charts.slice(0, 2), charts.slice(2)].filter((r) => r.length > 0).map((hconcat) => ({ hconcat }));
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: chartConfig, vconcat: rows, resolve: { scale: { color: 'shared' } } } as TopLevelSpec;
}

function summary(runs: readonly RunLog[]): string {
  const f = (v: number | null | undefined, d: number) => (v === null || v === undefined ? '-' : v.toFixed(d));
  return sortableTable(
    ['run', 'model', 'iterations', 'last loss', 'last PSNR', 'input PSNR', 'last SSIM', 'best PSNR', 'best at', 'status', 'time'].map((text, i) => ({ text, kind: i < 2 || i === 9 ? ('text' as const) : ('number' as const) })),
    runs.map((r) => {
      const lastStep = r.steps[r.steps.length - 1];
      const lastVal = r.validations[r.validations.length - 1];
      return [
        { text: r.name, kind: 'text' as const },
        { text: r.model ?? '-', kind: 'text' as const },
        { text: `${lastStep?.iteration ?? 0}${r.totalIterations !== null ? ` / ${r.totalIterations}` : ''}`, value: lastStep?.iteration ?? 0 },
        { text: lastStep ? lastStep.loss.toPrecision(4) : '-', value: lastStep?.loss ?? null },
        { text: f(lastVal?.psnr, 2), value: lastVal?.psnr ?? null },
        { text: f(lastVal?.inputPsnr, 2), value: lastVal?.inputPsnr ?? null },
        { text: f(lastVal?.ssim, 4), value: lastVal?.ssim ?? null },
        { text: f(r.best?.psnr, 2), value: r.best?.psnr ?? null },
        { text: r.best ? String(r.best.iteration) : '-', value: r.best?.iteration ?? null },
        { text: r.status, kind: 'text' as const },
        { text: r.seconds === null ? '-' : formatDuration(r.seconds), value: r.seconds },
      ];
    }),
  );
}

/** The report page of `runs`. */
export async function reportHtml(runs: readonly RunLog[]): Promise<string> {
  const svg = await renderSvg(reportSpec(runs));
  const data = runs.map((r) => ({ name: r.name, dir: r.dir, model: r.model, steps: r.steps, validations: r.validations, best: r.best, status: r.status }));
  const warnings = runs.flatMap((r) => r.warnings);
  const noVal = runs.filter((r) => r.validations.length === 0).map((r) => r.name);
  const body = [
    `<h1>Training report</h1>`,
    `<p class="conditions">${runs.map((r) => `${escapeHtml(r.name)}: ${escapeHtml(r.dir)}`).join('<br>')}</p>`,
    summary(runs),
    noVal.length > 0 ? `<p class="conditions">No validation logged for ${noVal.map(escapeHtml).join(', ')} (the experiment has no data.val, or no validation was due yet).</p>` : '',
    `<div class="charts">${svg}</div>`,
    warnings.length > 0 ? `<p class="conditions">${warnings.map(escapeHtml).join('<br>')}</p>` : '',
    // `<` escaped so that no string in the data can close the script element.
    `<script type="application/json" id="report-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>`,
  ];
  return page(`Training report: ${runs.map((r) => r.name).join(', ')}`, body.filter((s) => s !== '').join('\n'));
}
