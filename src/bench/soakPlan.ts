/**
 * What the soak sends: request i of the run, drawn from a seeded PRNG so that
 * a run is repeatable. The run is ten identical rounds (request i is drawn
 * from the stream i mod round), so the first and the last tenth carry the
 * very same mix of routes, lengths, cancels and bad inputs: a difference in
 * their latency is the server's drift, not a different draw.
 */
import { Prng } from "../model/Prng.js";
import { protocol, PROTOCOLS, type ProtocolName } from "./protocols.js";
import { BAD_INPUTS } from "./soakBadInputs.js";

export type SoakKind = "ok" | "cancel" | "bad";

/** Where the client cancels: with half the body sent, right after the body (the request waits for a row), or after some streamed tokens. */
export type CancelStage = "body" | "queued" | "stream";

export const CANCEL_STAGES: readonly CancelStage[] = ["body", "queued", "stream"];

export interface CancelPlan {
  stage: CancelStage;
  /** "body" and "queued": how long after the last write the client aborts. */
  afterMs: number;
  /** "stream": abort once this many token events have arrived. */
  afterTokens: number;
}

export interface SoakRequest {
  index: number;
  id: string;
  kind: SoakKind;
  /** "tgi stream", "openai-chat whole", or the bad input's name. */
  variant: string;
  path: string;
  contentType: string;
  /** Made when sent: one bad input is over 1 MiB. */
  body(): string;
  stream: boolean;
  protocol: ProtocolName | undefined;
  maxTokens: number;
  cancel: CancelPlan | undefined;
  /** Bad inputs: the status we expect (any 4xx passes). */
  expect: number | undefined;
}

/** Requests per round of a run of `requests`: the run is ten rounds, so a round is a tenth (the last may be short). */
export function roundSize(requests: number): number {
  return Math.ceil(requests / 10);
}

export interface PlanOptions {
  seed: number;
  model: string;
  idPrefix: string;
  /** Requests per round: request i is drawn like request i mod round. */
  round: number;
}

/** Shares of the mix; the rest are good requests. */
export const CANCEL_SHARE = 0.1;
export const BAD_SHARE = 0.1;
export const MAX_TOKENS = 32;
/** Cancelled requests ask for at least this many tokens, so that there is a generation to cut short. */
const CANCEL_MIN_TOKENS = 16;

const WORDS = "the a server token model stream request batch queue time answer question river stone light night early quiet number small large every".split(" ");

/** Draws from one PRNG stream: integers in [lo, hi], choices, coin flips. */
class Draw {
  constructor(private readonly prng: Prng) {}
  int(lo: number, hi: number): number {
    return lo + (this.prng.nextUint32() % (hi - lo + 1));
  }
  unit(): number {
    return this.prng.nextUint32() / 4294967296;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }
}

function prompt(d: Draw): string {
  return Array.from({ length: d.int(1, 24) }, () => d.pick(WORDS)).join(" ");
}

function generation(d: Draw, o: PlanOptions, base: Pick<SoakRequest, "index" | "id" | "kind" | "cancel">, stream: boolean, minTokens: number): SoakRequest {
  const name = d.pick(PROTOCOLS);
  const p = protocol(name);
  const maxTokens = d.int(minTokens, MAX_TOKENS);
  const body = JSON.stringify(p.body(o.model, { prompt: prompt(d), maxTokens, stream, ignoreEos: true, greedy: true }));
  return { ...base, variant: `${name} ${stream ? "stream" : "whole"}`, path: p.path(o.model, stream), contentType: "application/json", body: () => body, protocol: name, stream, maxTokens, expect: undefined };
}

function cancelPlan(d: Draw): CancelPlan {
  const stage = d.pick(CANCEL_STAGES);
  // A few ms: after the body the request is still waiting for a row (16 in flight, 8 rows).
  return { stage, afterMs: stage === "body" ? d.int(1, 10) : d.int(0, 3), afterTokens: d.int(1, CANCEL_MIN_TOKENS / 2) };
}

/** Request `index` of the run (deterministic in seed, index mod round). */
export function planRequest(o: PlanOptions, index: number): SoakRequest {
  const d = new Draw(new Prng(o.seed, index % o.round));
  const base = { index, id: `${o.idPrefix}-${index}` };
  const u = d.unit();
  if (u < BAD_SHARE) {
    const bad = d.pick(BAD_INPUTS);
    return { ...base, kind: "bad", variant: bad.name, path: bad.path(o.model), contentType: bad.contentType, body: () => bad.body(o.model), stream: false, protocol: undefined, maxTokens: 0, cancel: undefined, expect: bad.expect };
  }
  if (u < BAD_SHARE + CANCEL_SHARE) {
    const cancel = cancelPlan(d);
    const stream = cancel.stage === "stream" || d.unit() < 0.5;
    return generation(d, o, { ...base, kind: "cancel", cancel }, stream, CANCEL_MIN_TOKENS);
  }
  return generation(d, o, { ...base, kind: "ok", cancel: undefined }, d.unit() < 0.5, 1);
}
