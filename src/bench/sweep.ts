/**
 * `llm-serving sweep`: the study's measurement as a command. Output lengths
 * (1, 5, 10, 30, 60, 65, 120, 240, 360, 480 by default), r repetitions, one
 * request at a time, not streamed (like curl). Table 1 puts the study's
 * columns (send_request, generate_answer, get_full_res, time per token) beside
 * ours; Table 2 is the per-step breakdown tree (the study's model-side trace)
 * with mean and p90 per level. The server's columns need its records
 * (GET /debug/requests/{id}); against another server only the client's remain.
 */
import { mean } from "../analysis/fit.js";
import { STEP_TREE } from "../timing/points.js";
import { LoadClient, serverIdOf, type ClientRecord } from "./LoadClient.js";
import type { Protocol } from "./protocols.js";
import { engineMs, fetchTimelines, type ServerTimeline, type StepJson } from "./serverRecords.js";
import { fixed as f, quantile } from "./stats.js";

export const STUDY_LENGTHS = [1, 5, 10, 30, 60, 65, 120, 240, 360, 480];

export interface SweepOptions {
  url: string;
  protocol: Protocol;
  model: string;
  lengths: readonly number[];
  repetitions: number;
  stream: boolean;
  prompt: string;
  idPrefix?: string;
  onSent?: (record: ClientRecord) => void;
  onDone?: (record: ClientRecord) => void;
}

export interface SweepResult {
  records: ClientRecord[];
  timelines: Map<string, ServerTimeline>;
}

export async function runSweep(o: SweepOptions): Promise<SweepResult> {
  const prompts = o.lengths.flatMap((n) => Array.from({ length: o.repetitions }, () => ({ prompt: o.prompt, maxTokens: n })));
  const client = new LoadClient({
    url: o.url,
    protocol: o.protocol,
    model: o.model,
    prompts,
    maxTokens: 1,
    count: prompts.length,
    stream: o.stream,
    ignoreEos: true,
    greedy: true,
    concurrency: 1,
    idPrefix: o.idPrefix ?? `sweep-${Date.now().toString(36)}`,
    onSent: o.onSent,
    onDone: o.onDone,
  });
  const records = await client.run();
  const timelines = await fetchTimelines(o.url, records.map(serverIdOf));
  return { records, timelines };
}

/** Table 1: per output length, the means over the repetitions. */
export function lengthTable(r: SweepResult): string {
  const lengths = [...new Set(r.records.map((x) => x.maxTokens))].sort((a, b) => a - b);
  const lines = [
    "| output length | send_request (received → queued) | generate_answer (queued → finished) | get_full_res (received → response_ended) | time per token (get_full_res / n) | client e2e | client e2e / n | TTFT | TPOT |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const n of lengths) {
    const recs = r.records.filter((x) => x.maxTokens === n && !x.error);
    const ts = recs.map((x) => r.timelines.get(x.id)).filter((t): t is ServerTimeline => t !== undefined);
    const send = mean(ts.map((t) => (t.points.queued ?? NaN) - (t.points.received ?? NaN)));
    const engine = mean(ts.map(engineMs));
    const full = mean(ts.map((t) => t.durations.e2e));
    const client = mean(recs.map((x) => x.end - x.sent));
    const tokens = mean(recs.map((x) => x.outputTokens)) || n;
    lines.push(
      `| ${n} | ${f(send)} | ${f(engine)} | ${f(full)} | ${f(full / tokens)} | ${f(client)} | ${f(client / tokens)} | ${f(mean(ts.map((t) => t.durations.ttft ?? NaN)))} | ${f(mean(ts.map((t) => t.durations.tpot ?? NaN)))} |`,
    );
  }
  return lines.join("\n");
}

/** Table 2: every level of the step tree, mean and p90, over the steps of the sweep's requests (decode and prefill apart). */
export function stepTable(r: SweepResult): string {
  const seen = new Set<number>();
  const byKind = { decode: [] as Array<StepJson["spans"]>, prefill: [] as Array<StepJson["spans"]> };
  const loops: number[] = [];
  for (const t of r.timelines.values()) {
    for (const s of t.steps) {
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      byKind[s.requests.some((q) => q.kind === "prefill") ? "prefill" : "decode"].push(s.spans);
    }
    for (const c of t.span.children ?? []) if (c.name === "loop") loops.push(c.dur);
  }
  const lines = ["```", `${"level".padEnd(26)} ${"decode steps: mean".padStart(18)} ${"p90".padStart(8)} ${"prefill steps: mean".padStart(20)} ${"p90".padStart(8)}   (ms; ${byKind.decode.length} decode, ${byKind.prefill.length} prefill steps)`];
  for (const level of STEP_TREE) {
    const cell = (steps: Array<StepJson["spans"]>): [number, number] => {
      const v = steps.map((sp) => level.spans.reduce((a, name) => a + (sp[name] ?? NaN), 0));
      return [mean(v), quantile(v, 0.9)];
    };
    const [dm, d90] = cell(byKind.decode);
    const [pm, p90] = cell(byKind.prefill);
    lines.push(`${("  ".repeat(level.depth) + level.name).padEnd(26)} ${f(dm).padStart(18)} ${f(d90).padStart(8)} ${f(pm).padStart(20)} ${f(p90).padStart(8)}`);
  }
  lines.push(`${"loop (between two steps)".padEnd(26)} ${f(mean(loops)).padStart(18)} ${f(quantile(loops, 0.9)).padStart(8)}`, "```");
  return lines.join("\n");
}

export function formatSweep(r: SweepResult): string {
  const server = r.timelines.size > 0;
  return [
    `## Table 1: time by output length (ms, mean of ${Math.max(1, Math.round(r.records.length / new Set(r.records.map((x) => x.maxTokens)).size))} runs)`,
    "",
    "The study's columns (send_request, generate_answer, get_full_res, time per token) from the server's time points, beside the client's.",
    "",
    lengthTable(r),
    "",
    "## Table 2: per-step breakdown (the study's model-side trace)",
    "",
    server ? stepTable(r) : "(the server's step records are not available: GET /debug/requests/{id} answered nothing)",
  ].join("\n");
}
