// The page's markup and style: a static document that the bundled script brings to life. The
// element ids are the page's scripting contract (docs/web.md): #result holds the restored image
// as a PNG data URL when <body data-status> is "done", #error the message when it is "error".

/** The bundled script's file name in a site. */
export const SCRIPT_FILE = 'simdeblur-web.js';

const STYLE = `
  :root { color-scheme: light dark; --accent: #2f6fde; font-family: system-ui, sans-serif; }
  body { margin: 0 auto; max-width: 1100px; padding: 1rem 1.25rem 3rem; line-height: 1.4; }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .4rem 1.2rem; }
  h1 { font-size: 1.4rem; margin: 0; }
  .meta { color: GrayText; font-size: .9rem; }
  #drop { display: block; margin: 1rem 0; border: 2px dashed GrayText; border-radius: 10px; padding: 1.4rem; text-align: center; cursor: pointer; }
  #drop.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 10%, transparent); }
  #drop input { display: none; }
  #status-line { display: flex; align-items: center; gap: .8rem; min-height: 1.6rem; flex-wrap: wrap; }
  progress { width: 14rem; }
  .stage { display: inline-block; max-width: 100%; margin-top: .8rem; }
  #compare { position: relative; user-select: none; line-height: 0; }
  /* Small images are shown larger (the aspect ratio kept), large ones fit the window. */
  #compare #before { display: block; max-width: 100%; max-height: 75vh; min-height: 240px; }
  #compare #result { position: absolute; inset: 0; width: 100%; height: 100%; clip-path: inset(0 0 0 var(--split, 50%)); }
  #compare .divider { position: absolute; top: 0; bottom: 0; left: var(--split, 50%); width: 2px; background: #fff; box-shadow: 0 0 3px #000; pointer-events: none; }
  #compare .tag { position: absolute; top: .4rem; padding: .1rem .4rem; font: 12px/1.4 system-ui, sans-serif; background: #000a; color: #fff; border-radius: 4px; }
  #compare .tag.before { left: .4rem; } #compare .tag.after { right: .4rem; }
  #slider { display: block; width: 100%; margin: .4rem 0; }
  #frames-row { margin: .4rem 0; }
  #error { color: #c0392b; white-space: pre-wrap; }
  a#download { font-weight: 600; }
  [hidden] { display: none !important; }
`;

/** index.html of a site whose model is `label`. */
export function indexHtml(label: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>simdeblur: deblur in your browser</title>
<style>${STYLE}</style>
</head>
<body data-status="loading">
<header>
  <h1>simdeblur</h1>
  <span class="meta">model: <span id="model">${esc(label)}</span></span>
  <span class="meta">backend: <span id="backend">starting…</span></span>
</header>
<p class="meta">Everything runs on this device: the photo is never uploaded.</p>
<label id="drop">
  <input id="file" type="file" accept="image/*">
  <span id="drop-text">Drop a photo here, or click to choose one.</span>
</label>
<div id="status-line">
  <span id="status">Loading the model…</span>
  <progress id="progress" max="1" value="0" hidden></progress>
  <span id="progress-text"></span>
  <span id="time"></span>
  <a id="download" hidden>Download the result (PNG)</a>
</div>
<div id="error" role="alert" hidden></div>
<div id="viewer" hidden>
  <div id="frames-row" hidden><label>frame <input id="frame" type="range" min="0" max="0" value="0"> <span id="frame-name"></span></label></div>
  <div class="stage">
    <div id="compare">
      <img id="before" alt="input">
      <img id="result" alt="restored">
      <div class="divider"></div>
      <span class="tag before">before</span><span class="tag after">after</span>
    </div>
    <input id="slider" type="range" min="0" max="100" value="50" aria-label="before / after">
  </div>
</div>
<script type="module" src="${SCRIPT_FILE}"></script>
</body>
</html>
`;
}
