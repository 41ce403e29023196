/**
 * What our server's records say of the pauses a client saw (pauses.ts). A
 * pause is a late token; the server's record of the request names the
 * engine steps that made it — those after the token before it, up to its
 * own — and what happened in them: a GC pause or an event-loop stall, or
 * another request's prompt in the same step (continuous batching: a
 * newcomer's prefill makes every running stream's step longer). A relayed
 * request's steps are its remote engine's: a token that reached us late came
 * late from there. A token the server wrote within half the pause of when it
 * was due was held up mostly after it: by the network or the client.
 *
 * Each pause gets one cause, the one that accounts for most of it, and only
 * when it accounts for at least a quarter of it: a 0.2 ms scavenge in a
 * 30 ms prompt step does not make that pause GC's.
 */
import type { ServerTimeline, StepJson } from "../bench/serverRecords.js";
import { median } from "./fit.js";
import type { Pause, PauseAnalysis } from "./pauses.js";
import { pct, plural } from "./pauseVerdict.js";

export type PauseCause = "prompt" | "gc" | "stall" | "backend" | "after write" | "long step" | "no record";

/** In the order the report lists them, with what each says of its pauses. */
export const PAUSE_CAUSES: ReadonlyArray<{ cause: PauseCause; meaning: string }> = [
  { cause: "prompt", meaning: "came on steps that carried another request's prompt (continuous batching)" },
  { cause: "gc", meaning: "overlapped a GC pause on the server" },
  { cause: "stall", meaning: "overlapped an event-loop stall on the server (its loop busy, or kept off the CPU by other work on the machine)" },
  { cause: "backend", meaning: "came late from the remote engine that generated them (its steps, or the network to it)" },
  { cause: "long step", meaning: "came on a longer engine step with none of these in it" },
  { cause: "after write", meaning: "came mostly after the server had written the token (the network's or the client's)" },
  { cause: "no record", meaning: "had no server record of the late token" },
];

/** Least share of a pause a cause must account for to be named. */
const NAMED_SHARE = 0.25;

export interface CausedPause {
  pause: Pause;
  cause: PauseCause;
  /** How much of the pause that cause accounts for on the server's clock, ms (0 for "after write" and "no record"). */
  ms: number;
}

export interface PauseCauses {
  pauses: CausedPause[];
  /** Per cause: how many pauses, and the sum of their sizes (ms). */
  byCause: Map<PauseCause, { count: number; ms: number }>;
  /** Sum of all the pauses' sizes, ms. */
  totalMs: number;
}

/** A step carried another request's prompt. */
function carriedPrompt(step: StepJson, id: string): boolean {
  return step.requests.some((r) => r.kind === "prefill" && r.id !== id);
}

/** The request's typical step: the median of the steps it rode that carried no prompt but its own decode. */
function typicalStep(t: ServerTimeline): number {
  const plain = t.steps.filter((s) => !s.requests.some((r) => r.kind === "prefill")).map((s) => s.dur);
  return plain.length ? median(plain) : NaN;
}

/** When the server handed a token to the socket (or, streamed without timing of writes, delivered it). */
function sentAt(token: ServerTimeline["tokens"][number] | undefined): number | undefined {
  const at = token?.written ?? token?.delivered;
  return at === null ? undefined : at;
}

function causeOf(pause: Pause, t: ServerTimeline | undefined, typicalGap: number): CausedPause {
  const prev = t?.tokens[pause.position - 1];
  const cur = t?.tokens[pause.position];
  const [from, to] = [sentAt(prev), sentAt(cur)];
  if (!t || !prev || !cur || from === undefined || to === undefined) return { pause, cause: "no record", ms: 0 };
  // The server had the token out within half the pause of when it was due: most of the delay came after it.
  if (to - from <= typicalGap + pause.size / 2) return { pause, cause: "after write", ms: 0 };
  const overlap = (type: "gc" | "stall"): number =>
    t.events.filter((e) => e.type === type && e.start < to && e.start + e.dur > from).reduce((sum, e) => sum + Math.min(e.start + e.dur, to) - Math.max(e.start, from), 0);
  const gc = overlap("gc");
  // A stall's time includes the GC pauses in it (docs/timing.md): what is left is the loop's own.
  const stall = Math.max(0, overlap("stall") - gc);
  const candidates = t.hop ? relayed(prev, cur, from, to, typicalGap, gc, stall) : local(t, prev.step, cur.step, gc, stall);
  const [cause, ms] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
  if (ms >= NAMED_SHARE * pause.size) return { pause, cause, ms };
  // A relayed request's steps are the backend's, not in this record: the token reached us late.
  return { pause, cause: t.hop ? "backend" : "long step", ms: Math.max(0, to - from - typicalGap) };
}

type Token = ServerTimeline["tokens"][number];

/** Our engine's request: the steps that made the token, and what ran beside them. */
function local(t: ServerTimeline, after: number, upTo: number, gc: number, stall: number): Array<[PauseCause, number]> {
  const typical = typicalStep(t);
  const steps = t.steps.filter((s) => s.id > after && s.id <= upTo);
  const prompt = steps.filter((s) => carriedPrompt(s, t.id)).reduce((sum, s) => sum + Math.max(0, s.dur - (Number.isFinite(typical) ? typical : 0)), 0);
  return [
    ["prompt", prompt],
    ["gc", gc],
    ["stall", stall],
  ];
}

/**
 * A relayed request: how late the token reached this process from its
 * remote engine, against how much longer this process then held it before
 * writing it. A GC or a stall here delays only the holding: a token that
 * arrived late was late before any of ours.
 */
function relayed(prev: Token, cur: Token, from: number, to: number, typicalGap: number, gc: number, stall: number): Array<[PauseCause, number]> {
  const [arrivedBefore, arrived] = [prev.delivered ?? from, cur.delivered ?? to];
  const late = Math.max(0, arrived - arrivedBefore - typicalGap);
  const held = Math.max(0, to - arrived - (from - arrivedBefore));
  return [
    ["backend", late],
    ["gc", Math.min(gc, held)],
    ["stall", Math.min(stall, held)],
  ];
}

/** Each pause's cause on the server's records (the requests without one: "no record"). */
export function pauseCauses(analysis: PauseAnalysis, timelines: ReadonlyMap<string, ServerTimeline>): PauseCauses {
  const typical = new Map(analysis.requests.map((r) => [r.id, r.typicalGap]));
  const pauses = analysis.pauses.map((p) => causeOf(p, timelines.get(p.id), typical.get(p.id) ?? 0));
  const byCause = new Map<PauseCause, { count: number; ms: number }>();
  for (const { pause, cause } of pauses) {
    const c = byCause.get(cause) ?? { count: 0, ms: 0 };
    c.count++;
    c.ms += pause.size;
    byCause.set(cause, c);
  }
  return { pauses, byCause, totalMs: pauses.reduce((s, p) => s + p.pause.size, 0) };
}

/** One clause for the verdict: the causes that hold the most pause time, largest first. */
export function causesClause(c: PauseCauses): string {
  if (c.pauses.length === 0) return "";
  const parts = PAUSE_CAUSES.flatMap(({ cause, meaning }) => {
    const x = c.byCause.get(cause);
    return x ? [{ text: `${plural(x.count, "pause")} (${pct(x.ms / c.totalMs)} % of the pause time) ${meaning}`, ms: x.ms }] : [];
  }).sort((a, b) => b.ms - a.ms);
  return `on the server's records, ${parts.map((p) => p.text).join("; ")}`;
}
