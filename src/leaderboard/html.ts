// Parts of the self-contained HTML pages (leaderboard, training report): everything inline —
// styles, the table-sorting script, SVG charts, images as data URLs — so one file can be mailed,
// attached to CI or opened offline.

/** Text made safe for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A `data:` URL of bytes. */
export function dataUrl(bytes: Uint8Array, mime: string): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
}

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 2em; }
.conditions { color: #555; font-size: .92em; line-height: 1.5; }
table { border-collapse: collapse; font-size: .88em; margin: 1em 0; }
th, td { padding: .35em .6em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; cursor: pointer; user-select: none; position: sticky; top: 0; }
th.sorted-asc::after { content: ' ▲'; } th.sorted-desc::after { content: ' ▼'; }
td.text, th.text { text-align: left; } td.note { white-space: normal; max-width: 22em; color: #555; font-size: .92em; }
tr:hover td { background: #fafafa; }
code { font-size: .92em; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
.crops { display: flex; flex-wrap: wrap; gap: .8em; }
.crops figure { margin: 0; text-align: center; font-size: .85em; }
.crops img { image-rendering: pixelated; border: 1px solid #ccc; display: block; }
`;

// Click a header to sort by its column (numbers numerically, text alphabetically); again to reverse.
const SORT_SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (r) { var c = r.cells[col]; var v = c.getAttribute('data-value'); return v === null ? c.textContent : v; };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
        var d = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
        return asc ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
`;

/** A whole page: title, inline style and the sorting script for `table.sortable`. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}

/** A table cell of a sortable table: shown text, the value it sorts by, and whether it is text. */
export interface Cell {
  readonly text: string;
  readonly value?: number | string | null;
  readonly kind?: 'text' | 'number' | 'note';
}

/** A sortable table. */
export function sortableTable(head: readonly Cell[], rows: readonly (readonly Cell[])[]): string {
  const cls = (c: Cell) => (c.kind === 'text' ? ' class="text"' : c.kind === 'note' ? ' class="text note"' : '');
  const th = head.map((c) => `<th${cls(c)}>${escapeHtml(c.text)}</th>`).join('');
  const td = (c: Cell) => {
    const v = c.value === undefined ? '' : ` data-value="${escapeHtml(c.value === null ? '' : String(c.value))}"`;
    return `<td${cls(c)}${v}>${escapeHtml(c.text)}</td>`;
  };
  return `<table class="sortable"><thead><tr>${th}</tr></thead><tbody>\n${rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('\n')}\n</tbody></table>`;
}
