/**
 * The sweep's tables (src/bench/sweep.ts, formatSweep) as HTML, for the
 * report's preface. Not a Markdown renderer: it knows only what formatSweep
 * writes — "##" headings, paragraphs, pipe tables with an alignment row, and
 * the step table laid out in columns inside a code fence — so that every
 * table becomes a <table>. Anything else in a fence stays preformatted.
 */
import { esc, isFigure, tableHtml } from "./htmlTable.js";
import { markdownCells } from "./input/tableText.js";

const ALIGNMENT_ROW = /^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const isPipeRow = (line: string): boolean => line.trimStart().startsWith("|");

function pipeTable(lines: readonly string[]): string {
  if (lines.length < 2 || !ALIGNMENT_ROW.test(lines[1])) return paragraph(lines);
  return tableHtml({ head: markdownCells(lines[0]), rows: lines.slice(2).map(markdownCells) });
}

const paragraph = (lines: readonly string[]): string => `<p>${esc(lines.map((l) => l.trim()).join(" "))}</p>`;

/** A figure as the step table writes one: a number, or "–" where there is none. */
const isFigureToken = (s: string): boolean => s === "–" || isFigure(s);

/**
 * A table laid out in columns: a header whose cells are two or more spaces
 * apart (a last cell in brackets is a note on the whole table), then rows of
 * a label, indented two spaces a level, and figures. Undefined if the text
 * is not that.
 */
function columnTable(lines: readonly string[]): string | undefined {
  if (lines.length < 2) return undefined;
  const header = lines[0].trim().split(/\s{2,}/);
  const note = header.at(-1)!.startsWith("(") ? header.pop()!.replace(/^\((.*)\)$/, "$1") : undefined;
  if (header.length < 2) return undefined;
  const rows: string[][] = [];
  const depths: number[] = [];
  for (const line of lines.slice(1)) {
    const tokens = line.trim().split(/\s+/);
    let figures = 0;
    while (figures < tokens.length - 1 && isFigureToken(tokens[tokens.length - 1 - figures])) figures++;
    const label = tokens.slice(0, tokens.length - figures).join(" ");
    if (!label || figures === 0 || figures > header.length - 1) return undefined;
    rows.push([label, ...tokens.slice(tokens.length - figures)]);
    depths.push(Math.floor((line.length - line.trimStart().length) / 2));
  }
  return tableHtml({ head: header, rows, depths, caption: note });
}

function fence(lines: readonly string[]): string {
  return columnTable(lines.filter((l) => l.trim())) ?? `<pre>${esc(lines.join("\n"))}</pre>`;
}

function heading(hashes: string, text: string): string {
  // The page's own title is the h1; the preface's sections sit beside the report's h2s.
  const level = Math.min(6, Math.max(2, hashes.length));
  return `<h${level}>${esc(text.trim())}</h${level}>`;
}

/** Where the block starting at line i ends (exclusive): a fence at its closing line, others at a line of another kind. */
function blockEnd(lines: readonly string[], i: number, same: (line: string) => boolean): number {
  let j = i + 1;
  while (j < lines.length && lines[j].trim() && same(lines[j])) j++;
  return j;
}

const isHeading = (line: string): boolean => /^#{1,6}\s/.test(line);
const isFence = (line: string): boolean => line.trimStart().startsWith("```");

export function prefaceHtml(markdown: string): string {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
    } else if (isHeading(line)) {
      const [, hashes, text] = /^(#+)\s+(.*)$/.exec(line)!;
      out.push(heading(hashes, text));
      i++;
    } else if (isFence(line)) {
      let close = i + 1;
      while (close < lines.length && !isFence(lines[close])) close++;
      out.push(fence(lines.slice(i + 1, close)));
      i = close + 1;
    } else if (isPipeRow(line)) {
      const end = blockEnd(lines, i, isPipeRow);
      out.push(pipeTable(lines.slice(i, end)));
      i = end;
    } else {
      const end = blockEnd(lines, i, (l) => !isHeading(l) && !isFence(l) && !isPipeRow(l));
      out.push(paragraph(lines.slice(i, end)));
      i = end;
    }
  }
  return out.join("\n");
}
