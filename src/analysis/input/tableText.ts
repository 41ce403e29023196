/**
 * The cells of a table in a text file: CSV, TSV or a Markdown table, detected
 * from the text. Only the layout is read here; what the cells mean (which
 * column is which, units, numbers) is table.ts's business.
 */
import { TableError } from "./errors.js";

export type TableFormat = "csv" | "tsv" | "markdown";

export interface TextRow {
  /** 1-based line in the text. */
  line: number;
  cells: string[];
}

export interface TableText {
  format: TableFormat;
  header: TextRow;
  rows: TextRow[];
}

const ALIGNMENT_CELL = /^:?-+:?$/;

/**
 * Markdown wins when some line starting with "|" is followed by an alignment
 * row: such a pair is never a CSV header. Then a tab in the header makes
 * TSV, else CSV (comma, or semicolon when the header has no comma).
 */
export function splitTable(text: string, format?: TableFormat): TableText {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines.every((l) => l.trim() === "")) throw new TableError("the table is empty");
  const md = markdownStart(lines);
  if (format === "markdown" || (format === undefined && md >= 0)) {
    if (md < 0) throw new TableError("no Markdown table: it needs a header line like `| a | b |` followed by an alignment line like `|---|---|`");
    return markdownTable(lines, md);
  }
  return delimitedTable(lines, format);
}

function markdownStart(lines: readonly string[]): number {
  for (let i = 0; i + 1 < lines.length; i++) {
    if (lines[i].trim().startsWith("|") && isAlignment(lines[i + 1])) return i;
  }
  return -1;
}

function isAlignment(line: string): boolean {
  const t = line.trim();
  if (!t.startsWith("|")) return false;
  const cells = markdownCells(t);
  return cells.length > 0 && cells.every((c) => ALIGNMENT_CELL.test(c.replace(/\s+/g, "")));
}

/** The table runs from its header to the first line that does not start with "|" (a blank line ends it too). */
function markdownTable(lines: readonly string[], start: number): TableText {
  const header = { line: start + 1, cells: markdownCells(lines[start]).map(unwrapCode) };
  const rows: TextRow[] = [];
  for (let i = start + 2; i < lines.length && lines[i].trim().startsWith("|"); i++) {
    rows.push({ line: i + 1, cells: markdownCells(lines[i]).map(unwrapCode) });
  }
  return checked({ format: "markdown", header, rows });
}

/** Cells between unescaped pipes ("\|" is a bar inside a cell); the outer pipes are optional at the end. */
export function markdownCells(line: string): string[] {
  let t = line.trim();
  if (t.startsWith("|")) t = t.slice(1);
  if (t.endsWith("|") && !t.endsWith("\\|")) t = t.slice(0, -1);
  return t.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

/** `send_request` names the column send_request: the backticks are Markdown, not part of the name. */
function unwrapCode(cell: string): string {
  const m = /^(`+)(.*?)\1$/.exec(cell);
  return m ? m[2].trim() : cell;
}

/** Lines starting with "#" are comments (many tools write a preamble that way); blank lines are skipped. */
function delimitedTable(lines: readonly string[], format: TableFormat | undefined): TableText {
  const content = lines.map((text, i) => ({ text, line: i + 1 })).filter(({ text }) => text.trim() !== "" && !text.trimStart().startsWith("#"));
  if (content.length === 0) throw new TableError("the table is empty (only comment lines)");
  const first = content[0];
  const delimiter = format === "tsv" ? "\t" : format === "csv" ? (first.text.includes(",") || !first.text.includes(";") ? "," : ";") : pickDelimiter(first.text);
  if (delimiter === undefined) {
    throw new TableError(`no header: line ${first.line} has a single column; a table needs a header line naming at least a length and a time column, separated by commas, tabs or pipes`, first.line);
  }
  const [header, ...rows] = content.map(({ text, line }) => ({ line, cells: splitDelimited(text, delimiter, line) }));
  return checked({ format: delimiter === "\t" ? "tsv" : "csv", header, rows });
}

function pickDelimiter(header: string): string | undefined {
  if (header.includes("\t")) return "\t";
  if (header.includes(",")) return ",";
  if (header.includes(";")) return ";";
  return undefined;
}

/** One line of CSV or TSV: fields may be double-quoted, with "" for a quote inside. */
function splitDelimited(text: string, delimiter: string, line: number): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (text[i] === " ") i++;
    let cell = "";
    if (text[i] === '"') {
      const close = closingQuote(text, i + 1);
      if (close < 0) throw new TableError(`line ${line}: a quoted cell has no closing quote`, line);
      cell = text.slice(i + 1, close).replace(/""/g, '"');
      i = close + 1;
      const next = text.indexOf(delimiter, i);
      const rest = next < 0 ? text.slice(i) : text.slice(i, next);
      if (rest.trim() !== "") throw new TableError(`line ${line}: text after a quoted cell's closing quote`, line);
      i = next < 0 ? text.length : next;
    } else {
      const next = text.indexOf(delimiter, i);
      cell = next < 0 ? text.slice(i) : text.slice(i, next);
      i = next < 0 ? text.length : next;
    }
    cells.push(cell.trim());
    if (i >= text.length) return cells;
    i += delimiter.length;
  }
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] !== '"') continue;
    if (text[i + 1] === '"') i++;
    else return i;
  }
  return -1;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function checked(t: TableText): TableText {
  const width = t.header.cells.length;
  if (t.header.cells.length > 0 && t.header.cells.every((c) => NUMBER.test(c))) {
    throw new TableError(`no header: line ${t.header.line} holds only numbers; the first line of the table must name its columns`, t.header.line);
  }
  if (t.rows.length === 0) throw new TableError(`the table has a header (line ${t.header.line}) but no rows`, t.header.line);
  for (const r of t.rows) {
    if (r.cells.length !== width) {
      throw new TableError(`line ${r.line} has ${r.cells.length} cells, the header (line ${t.header.line}) has ${width}`, r.line);
    }
  }
  t.header.cells = t.header.cells.map((c, i) => (c === "" ? `column ${i + 1}` : c));
  return t;
}
