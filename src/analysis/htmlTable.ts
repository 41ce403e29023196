/**
 * A report table as an HTML table: figures right-aligned and never wrapped,
 * text left-aligned and wrapped, inside a box that scrolls sideways only if
 * the table cannot be made narrow enough for the page.
 */

export const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A figure: a number, its thousands maybe grouped ("55 469"), maybe with a unit or a share in brackets ("12.5 (3.1 %)"). */
export const isFigure = (s: string): boolean => /^[−+-]?(\d{1,3}( \d{3})+(\.\d+)?|[\d.,]+)( \([−+-]?[\d.,]+ %\))?( %| ms)?$/.test(s.trim());

/** What stands in a figure's place when there is none. */
const isPlaceholder = (s: string): boolean => /^(–|-|not measured|)$/.test(s.trim());

export interface TableHtml {
  head: readonly string[];
  rows: ReadonlyArray<readonly string[]>;
  caption?: string;
  /** Per row, how deep its first cell sits in a tree (the step table's levels). */
  depths?: readonly number[];
}

/** Columns of figures, where every cell is one or stands in for one: they align right as a whole, so the digits line up. */
function figureColumns(head: readonly string[], rows: ReadonlyArray<readonly string[]>): boolean[] {
  return head.map((_, c) => {
    const cells = rows.map((r) => r[c] ?? "");
    return cells.some(isFigure) && cells.every((x) => isFigure(x) || isPlaceholder(x));
  });
}

/**
 * Text with a break opportunity after each "_" of a long name: names like
 * prefill_beyond_decode are the widest words of a header, and a table
 * cannot be narrower than its widest word. Shorter ones (get_full_res)
 * stay whole, where a break would only make them harder to read.
 */
const breakable = (text: string): string => esc(text).replace(/\w{13,}/g, (word) => word.replace(/_(?=\w)/g, "_<wbr>"));

function cell(tag: "td" | "th", text: string, figure: boolean, depth = 0, scope = ""): string {
  const indent = depth > 0 ? ` style="padding-left:${(0.5 + 1.25 * depth).toFixed(2)}em"` : "";
  return `<${tag}${scope} class="${figure ? "num" : "txt"}"${indent}>${figure && tag === "td" ? esc(text) : breakable(text)}</${tag}>`;
}

export function tableHtml(t: TableHtml): string {
  const figures = figureColumns(t.head, t.rows);
  const head = `<thead><tr>${t.head.map((h, c) => cell("th", h, figures[c], 0, ` scope="col"`)).join("")}</tr></thead>`;
  const body = t.rows.map((r, i) => `<tr>${t.head.map((_, c) => cell("td", r[c] ?? "", figures[c], c === 0 ? (t.depths?.[i] ?? 0) : 0)).join("")}</tr>`).join("");
  const caption = t.caption ? `<caption>${esc(t.caption)}</caption>` : "";
  // tabindex: a box that may scroll must be reachable by keyboard.
  return `<div class="table" tabindex="0"><table>${caption}${head}<tbody>${body}</tbody></table></div>`;
}

/** The page's style: readable line lengths, tables that fit a 1400 px window, charts that shrink with it. */
export const REPORT_CSS = `
:root{color-scheme:light}
body{font:15px/1.45 system-ui,sans-serif;max-width:1320px;margin:24px auto;padding:0 24px;color:#1a1a1a;text-align:left}
h1{font-size:1.6em;margin:0 0 .6em}
h2{font-size:1.25em;margin:1.8em 0 .5em;padding-bottom:.2em;border-bottom:1px solid #ddd}
h3,h4{font-size:1.05em;margin:1.4em 0 .4em}
p,li{max-width:110ch}
ul{padding-left:1.4em}
.table{overflow-x:auto;max-width:100%;margin:.6em 0 1.4em}
table{border-collapse:collapse;font-size:13px}
caption{caption-side:bottom;text-align:left;font-size:12.5px;color:#555;padding-top:5px}
th,td{border:1px solid #ccc;padding:3px 8px;vertical-align:top;text-align:left}
th{background:#f3f3f3;font-weight:600;vertical-align:bottom}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
.txt{overflow-wrap:break-word}
figure{margin:1em 0 1.8em}
figure svg{display:block;max-width:100%;height:auto}
figcaption{font-size:12.5px;color:#555;margin-top:4px}
pre{background:#f6f6f6;padding:1em;overflow:auto}
`;
