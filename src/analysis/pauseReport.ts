/**
 * The pauses as tables (head and rows, for the report's blocks) and as a
 * Markdown section, so that the report shows the numbers behind the verdict.
 */
import type { Pause, PauseAnalysis, PausesNotMeasured } from "./pauses.js";
import { grouped, ms, pct, periodText, ruleText } from "./pauseVerdict.js";
import type { Periodicity } from "./pausePeriod.js";
import { markdownTable } from "./reportBlocks.js";

export interface PauseTable {
  head: string[];
  rows: string[][];
}

/** Said wherever the pauses are shown: the client's clock cannot tell whose pause it was. */
export const CLIENT_CLOCK_CAVEAT = "Measured on the client's clock: a pause may be the client's own (its GC, its event loop) or the network's, not only the server's.";

function periodicityRow(name: string, p: Periodicity | undefined): string[] {
  if (!p) return [name, "too few pauses to tell"];
  // No interval fell on any beat: there is no period to quote.
  if (p.onBeat === 0) return [name, `not periodic: none of ${p.intervals} intervals on a common beat`];
  const aligned = p.aligned === undefined ? "" : `; ${pct(p.aligned)} % of pauses at phase ${p.phase}`;
  const shared = p.shared === undefined ? "" : `; each held up ${pct(p.shared)} % of the streams in flight`;
  return [name, `${p.periodic ? "periodic" : "not periodic"}: ~${periodText(p)}, CV ${p.cv.toFixed(2)}, ${p.onBeat} of ${p.intervals} intervals on the beat (${p.beats} beats)${aligned}${shared}`];
}

/** The numbers behind the verdict. */
export function pauseSummaryTable(a: PauseAnalysis): PauseTable {
  const s = a.summary;
  const left = a.leftOut;
  return {
    head: ["", ""],
    rows: [
      ["verdict", `${a.kind}${a.periodicIn ? ` (${a.periodicIn})` : ""}`],
      ["rule", `${ruleText(a.options)}; size = gap − typical`],
      ["requests, gaps", `${grouped(s.requests)}, ${grouped(s.gaps)}`],
      ["left out", `${left.notStreamed} not streamed, ${left.errors} errors, ${left.fewTokens} under 3 tokens, ${left.fewArrivals} under 3 arrivals`],
      ["pauses", `${grouped(s.count)} (${pct(s.share)} % of gaps), ${grouped(a.episodes.length)} episodes (pauses that overlapped in time, across requests, counted once)`],
      ["pause time", `${ms(s.totalMs)} ms (${pct(s.decodeShare)} % of ${ms(s.decodeMs)} ms decode time)`],
      ["pause size", s.count ? `median ${ms(s.medianSize)} ms, ${ms(s.minSize)}–${ms(s.maxSize)} ms` : "no pause"],
      ["median TTFT", `${ms(s.medianTtft)} ms`],
      periodicityRow("in wall time", a.wall),
      periodicityRow("in token position", a.position),
    ],
  };
}

/** Per request, the ones that paused most first. */
export function pauseRequestTable(a: PauseAnalysis, maxRows = 20): PauseTable {
  const rows = [...a.requests]
    .sort((x, y) => y.pauseMs - x.pauseMs || x.index - y.index)
    .slice(0, maxRows)
    .map((r) => [r.id, String(r.tokens), ms(r.ttft), ms(r.typicalGap), String(r.pauses.length), ms(r.pauseMs)]);
  return { head: ["request", "tokens", "TTFT ms", "typical gap ms", "pauses", "pause ms"], rows };
}

/** The largest pauses one by one, with the token they held up and, with the server's records, their cause: what to look up in /debug/requests/{id}. */
export function largestPausesTable(a: PauseAnalysis, causes: ReadonlyMap<Pause, string> | undefined, maxRows = 20): PauseTable {
  const rows = [...a.pauses]
    .sort((x, y) => y.size - x.size)
    .slice(0, maxRows)
    .map((p) => [p.id, String(p.position), ms(p.gap), ms(p.size), ...(causes ? [causes.get(p) ?? ""] : [])]);
  return { head: ["request", "token", "gap ms", "pause ms", ...(causes ? ["cause"] : [])], rows };
}

/** A Markdown section: the verdict, its numbers, the requests that paused most. */
export function pausesMarkdown(a: PauseAnalysis | PausesNotMeasured, maxRows = 20): string {
  if (!a.measured) return `Pauses: not measured: ${a.reason}.`;
  const table = (t: PauseTable): string[] => markdownTable(t.head, t.rows, () => true);
  return [`Pauses: ${a.verdict}.`, "", CLIENT_CLOCK_CAVEAT, "", ...table(pauseSummaryTable(a)), "", ...table(pauseRequestTable(a, maxRows))].join("\n");
}
