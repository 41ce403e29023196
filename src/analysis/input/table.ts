/**
 * A table of end-to-end times by output length, from any server's
 * measurements: CSV, TSV or Markdown (tableText.ts), one row per request or
 * per length (rows with the same length are repetitions, all kept). It says
 * what it read (format, columns, units and why) so that a report can too.
 */
import { COMMENT_NAMES, E2E_NAMES, LENGTH_NAMES, namedColumn, normalizeHeader, parseSpanMapping, usualColumn } from "./columns.js";
import { TableError, shown } from "./errors.js";
import { splitTable, type TableFormat, type TextRow } from "./tableText.js";
import { MS_PER, cellNumber, headerUnit, perTokenUnit, type TimeUnit } from "./units.js";

export type { TableFormat } from "./tableText.js";
export type { TimeUnit } from "./units.js";

export interface TableOptions {
  /** Default: detected (tableText.ts). */
  format?: TableFormat;
  /** Header of the output length column. Default: a usual name (columns.ts, LENGTH_NAMES). */
  length?: string;
  /** Header of the end-to-end time column. Default: a usual name (E2E_NAMES). */
  e2e?: string;
  /** Unit of every time column whose header names none. Default: detected (see ColumnUnit). */
  units?: TimeUnit;
  /** Server-side columns to read, header → label ("send_request=receive,LLMServer.generate_answer=engine" or an object). */
  spans?: Readonly<Record<string, string>> | string;
  /** Headers never to read (a derived "time per token", a note). */
  ignore?: readonly string[];
  /** Header of a free-text column kept as each row's comment. Default: "comment", "note" or the like, if there is one. */
  comment?: string;
  /** How errors name the length and e2e options (a command line has its own flags). Default "option length", "option e2e". */
  optionNames?: { length: string; e2e: string };
}

export interface TableRow {
  length: number;
  e2eMs: number;
  /** Label → ms; a span whose cell is empty is left out. */
  spans: Record<string, number>;
  comment?: string;
  /** 1-based line of the text. */
  line: number;
}

/**
 * How a time column's unit was found: "given" (options.units), "header"
 * ("latency (s)", "e2e_ms"), "cells" ("40 ms"), "values" (the e2e column
 * only: median e2e per token below SECONDS_BELOW_PER_TOKEN means seconds),
 * "e2e column" (a span column without a unit of its own takes the e2e's).
 * "per cell": every cell names its own unit, and they differ.
 */
export interface ColumnUnit {
  unit: TimeUnit | "per cell";
  from: "given" | "header" | "cells" | "values" | "e2e column";
  /** For "values": the figure the choice rests on. */
  evidence?: string;
}

export interface ColumnChoice {
  header: string;
  index: number;
  /** "named" by an option, or "detected" from the usual names. */
  how: "named" | "detected";
}

export interface TableData {
  format: TableFormat;
  headers: string[];
  rows: TableRow[];
  length: ColumnChoice;
  e2e: ColumnChoice & ColumnUnit;
  spans: Array<ColumnChoice & ColumnUnit & { label: string }>;
  comment?: ColumnChoice;
  ignored: string[];
  /** Columns neither read nor ignored. */
  unused: string[];
  /** Distinct output lengths (fewer than rows when there are repetitions). */
  lengths: number;
}

interface Columns {
  length: ColumnChoice;
  e2e: ColumnChoice;
  spans: Array<ColumnChoice & { label: string }>;
  comment?: ColumnChoice;
  ignored: Set<number>;
}

/** Reads the table; every problem is one TableError line naming the line or column. */
export function readTable(text: string, options: TableOptions = {}): TableData {
  const table = splitTable(text, options.format);
  const headers = table.header.cells;
  const cols = chooseColumns(headers, options);
  const lengths = table.rows.map((r) => lengthOf(r, cols.length));
  const guess = () => perTokenUnit(table.rows.map((r, i) => ({ length: lengths[i], e2e: rawNumber(r, cols.e2e) })));
  const e2e = timeColumn(table.rows, cols.e2e, { given: options.units, required: true, guess });
  const spans = cols.spans.map((c) => ({ c, t: timeColumn(table.rows, c, { given: options.units, required: false, fallback: e2e.unit }) }));
  const rows = table.rows.map((r, i): TableRow => {
    const row: TableRow = { length: lengths[i], e2eMs: e2e.ms[i], spans: {}, line: r.line };
    for (const { c, t } of spans) if (!Number.isNaN(t.ms[i])) row.spans[c.label] = t.ms[i];
    const note = cols.comment ? r.cells[cols.comment.index] : "";
    if (note) row.comment = note;
    return row;
  });
  const read = new Set([cols.length.index, cols.e2e.index, ...cols.spans.map((s) => s.index), ...(cols.comment ? [cols.comment.index] : [])]);
  return {
    format: table.format,
    headers,
    rows,
    length: cols.length,
    e2e: { ...cols.e2e, ...e2e.unit },
    spans: spans.map(({ c, t }) => ({ ...c, ...t.unit })),
    comment: cols.comment,
    ignored: [...cols.ignored].map((i) => headers[i]),
    unused: headers.filter((_, i) => !read.has(i) && !cols.ignored.has(i)),
    lengths: new Set(lengths).size,
  };
}

function chooseColumns(headers: readonly string[], o: TableOptions): Columns {
  const ignored = new Set((o.ignore ?? []).map((h) => namedColumn(headers, h, "columns to ignore")));
  const mapping = typeof o.spans === "string" ? parseSpanMapping(o.spans) : (o.spans ?? {});
  const spans = Object.entries(mapping).map(([header, label]) => ({ ...choice(headers, namedColumn(headers, header, `span ${shown(label)}`), "named"), label }));
  const taken = new Set([...ignored, ...spans.map((s) => s.index)]);
  const commentIndex = o.comment !== undefined ? namedColumn(headers, o.comment, "comment") : headers.findIndex((h, i) => !taken.has(i) && COMMENT_NAMES.includes(normalizeHeader(h)));
  if (commentIndex >= 0) taken.add(commentIndex);
  const pick = (name: string | undefined, names: readonly string[], what: string, option: string): ColumnChoice => {
    const index = name !== undefined ? namedColumn(headers, name, what) : usualColumn(headers, names, taken, what, option);
    taken.add(index);
    return choice(headers, index, name !== undefined ? "named" : "detected");
  };
  const length = pick(o.length, LENGTH_NAMES, "output length", o.optionNames?.length ?? "option length");
  const e2e = pick(o.e2e, E2E_NAMES, "end-to-end time", o.optionNames?.e2e ?? "option e2e");
  const uses = [length.index, e2e.index, ...spans.map((s) => s.index), commentIndex].filter((i) => i >= 0);
  for (const i of uses) {
    if (ignored.has(i)) throw new TableError(`column ${shown(headers[i])} is both ignored and read`, undefined, headers[i]);
    if (uses.indexOf(i) !== uses.lastIndexOf(i)) throw new TableError(`column ${shown(headers[i])} is chosen for two things`, undefined, headers[i]);
  }
  return { length, e2e, spans, comment: commentIndex >= 0 ? choice(headers, commentIndex, o.comment !== undefined ? "named" : "detected") : undefined, ignored };
}

function choice(headers: readonly string[], index: number, how: ColumnChoice["how"]): ColumnChoice {
  return { header: headers[index], index, how };
}

function lengthOf(r: TextRow, c: ColumnChoice): number {
  const cell = cellNumber(r.cells[c.index]);
  if (cell.kind !== "number" || cell.unit !== undefined) numberError(r, c, cell.kind === "number" ? "not a number" : cell.kind);
  if (cell.value < 0) throw new TableError(`line ${r.line}, column ${shown(c.header)}: a negative length (${r.cells[c.index]})`, r.line, c.header);
  return cell.value;
}

/** The cell as a bare number, for guessing the unit (NaN if it is not one). */
function rawNumber(r: TextRow, c: ColumnChoice): number {
  const cell = cellNumber(r.cells[c.index]);
  return cell.kind === "number" ? cell.value : NaN;
}

function numberError(r: TextRow, c: ColumnChoice, kind: string): never {
  const cell = r.cells[c.index];
  const why =
    kind === "decimal comma"
      ? `${shown(cell)} has a decimal comma (or a thousands separator): not supported, write numbers with a decimal point`
      : kind === "empty"
        ? "the cell is empty"
        : `${shown(cell)} is not a number`;
  throw new TableError(`line ${r.line}, column ${shown(c.header)}: ${why}`, r.line, c.header);
}

interface TimeColumnHow {
  given?: TimeUnit;
  /** An empty cell is an error (the e2e), else a missing value (a span). */
  required: boolean;
  /** The unit from the values, when nothing states it (the e2e column). */
  guess?: () => { unit: TimeUnit; evidence: string } | undefined;
  /** The unit when nothing states it and there is no guess (a span takes the e2e's). */
  fallback?: ColumnUnit;
}

/** A time column in ms (NaN for an empty cell) and how its unit was found: given or header > the cells' own units > guess > fallback. */
function timeColumn(rows: readonly TextRow[], c: ColumnChoice, how: TimeColumnHow): { ms: number[]; unit: ColumnUnit } {
  const cells = rows.map((r) => {
    const cell = cellNumber(r.cells[c.index]);
    if (cell.kind === "empty" && !how.required) return undefined;
    if (cell.kind !== "number") numberError(r, c, cell.kind);
    if (cell.value < 0) throw new TableError(`line ${r.line}, column ${shown(c.header)}: a negative time (${r.cells[c.index]})`, r.line, c.header);
    return { ...cell, line: r.line };
  });
  const unit = columnUnit(c, how, cells.filter((x) => x !== undefined));
  const ms = cells.map((x) => (x === undefined ? NaN : x.value * MS_PER[x.unit ?? (unit.unit as TimeUnit)]));
  return { ms, unit };
}

function columnUnit(c: ColumnChoice, { given, guess, fallback }: TimeColumnHow, cells: ReadonlyArray<{ unit?: TimeUnit; line: number }>): ColumnUnit {
  const inHeader = headerUnit(c.header.replace(/[`"'*]/g, "")).unit;
  if (given && inHeader && given !== inHeader) throw new TableError(`units were given as ${given} but the header ${shown(c.header)} says ${inHeader}`, undefined, c.header);
  const stated: ColumnUnit | undefined = inHeader ? { unit: inHeader, from: "header" } : given ? { unit: given, from: "given" } : undefined;
  const marked = cells.filter((x) => x.unit !== undefined);
  const kinds = new Set(marked.map((x) => x.unit));
  if (stated) {
    const other = marked.find((x) => x.unit !== stated.unit);
    if (other) throw new TableError(`mixed units: line ${other.line}, column ${shown(c.header)} is in ${other.unit} but the column is in ${stated.unit} (${stated.from})`, other.line, c.header);
    return stated;
  }
  if (kinds.size === 1) return { unit: [...kinds][0]!, from: "cells" };
  if (kinds.size > 1) {
    const bare = cells.find((x) => x.unit === undefined);
    if (bare) throw new TableError(`mixed units: column ${shown(c.header)} has cells in ms and in s, and line ${bare.line} has none; give the units`, bare.line, c.header);
    return { unit: "per cell", from: "cells" };
  }
  const guessed = guess?.();
  if (guessed) return { unit: guessed.unit, from: "values", evidence: guessed.evidence };
  if (fallback && fallback.unit !== "per cell") return { unit: fallback.unit, from: "e2e column" };
  throw new TableError(`cannot tell the unit of column ${shown(c.header)} (ms or s): put it in the header, like "${c.header} (ms)", or give the units`, undefined, c.header);
}

/** One line for a report: what was read, from which columns, in which units, and why. */
export function describeTable(t: TableData): string {
  const unit = (u: ColumnUnit): string => `${u.unit}, ${u.from === "values" ? `from the values: ${u.evidence}` : `from the ${u.from}`}`;
  const format = { csv: "CSV", tsv: "TSV", markdown: "Markdown table" }[t.format];
  const parts = [
    `${format}, ${t.rows.length} rows, ${t.lengths} output lengths`,
    `length from ${shown(t.length.header)}`,
    `e2e from ${shown(t.e2e.header)} (${unit(t.e2e)})`,
    ...t.spans.map((s) => `${s.label} from ${shown(s.header)} (${unit(s)})`),
  ];
  if (t.ignored.length) parts.push(`ignored: ${t.ignored.map((h) => shown(h)).join(", ")}`);
  if (t.unused.length) parts.push(`not read: ${t.unused.map((h) => shown(h)).join(", ")}`);
  return parts.join("; ") + ".";
}
