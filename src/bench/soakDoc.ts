/**
 * The soak report as a list of blocks, rendered twice: Markdown (charts as
 * SVG files next to it) and a self-contained HTML page (charts inline). One
 * content, two renderings, so the two reports cannot say different things.
 */
import { esc } from "../analysis/htmlTable.js";
import { markdownTable } from "../analysis/reportBlocks.js";

export type Block =
  | { h: string }
  | { p: string }
  | { list: string[] }
  | { table: { head: string[]; rows: string[][]; align?: Array<"l" | "r"> } }
  | { svg: string; file: string; alt: string };

/** `code` spans are the one inline markup the blocks use. */
const inline = (s: string): string => esc(s).replace(/`([^`]+)`/g, "<code>$1</code>");

export function toMarkdown(title: string, blocks: readonly Block[]): string {
  const out = [`# ${title}`, ""];
  for (const b of blocks) {
    if ("h" in b) out.push(`## ${b.h}`, "");
    else if ("p" in b) out.push(b.p, "");
    else if ("list" in b) out.push(...b.list.map((l) => `- ${l}`), "");
    else if ("table" in b) {
      const { head, rows, align } = b.table;
      out.push(...markdownTable(head, rows, (i) => align?.[i] !== "r"), "");
    } else out.push(`![${b.alt}](${b.file})`, "");
  }
  return out.join("\n");
}

export function toHtml(title: string, blocks: readonly Block[]): string {
  const body: string[] = [`<h1>${esc(title)}</h1>`];
  for (const b of blocks) {
    if ("h" in b) body.push(`<h2>${esc(b.h)}</h2>`);
    else if ("p" in b) body.push(`<p>${inline(b.p)}</p>`);
    else if ("list" in b) body.push(`<ul>${b.list.map((l) => `<li>${inline(l)}</li>`).join("")}</ul>`);
    else if ("table" in b) {
      const { head, rows, align } = b.table;
      const td = (tag: string, s: string, i: number): string => `<${tag}${align?.[i] === "r" ? ' class="r"' : ""}>${inline(s)}</${tag}>`;
      body.push(`<table><tr>${head.map((h, i) => td("th", h, i)).join("")}</tr>${rows.map((r) => `<tr>${r.map((c, i) => td("td", c, i)).join("")}</tr>`).join("")}</table>`);
    } else body.push(`<figure>${b.svg}</figure>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0 1em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}.r{text-align:right}code{background:#f4f4f4;padding:0 3px}figure{margin:1em 0}</style>
</head><body>
${body.join("\n")}
</body></html>
`;
}
