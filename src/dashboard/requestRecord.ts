/**
 * The shapes of a request's record the page reads (GET /debug/requests/{id},
 * serve --timeline-file), free of the DOM so that the command line can read
 * files the way the page does (src/cli/commands/dashboard.ts).
 */

/** As timing/recordJson.ts defines them: the page compiles on its own (its own tsconfig), so it restates the shapes it reads. */
export interface SpanJson {
  name: string;
  start: number;
  dur: number;
  gc_ms?: number;
  stall_ms?: number;
  step?: number;
  children?: SpanJson[];
}

export interface RequestRecord {
  id: string;
  route: string;
  status: number;
  complete: boolean;
  finish_reason: string | null;
  prompt_tokens: number;
  generated_tokens: number;
  durations: { e2e: number; ttft: number | null; tpot: number | null; untimed: number; coverage: number; gc: number; stall: number };
  span: SpanJson;
  /** position is absent in records written before steps kept it. */
  steps: Array<{ id: number; dur: number; rows: number; spans: Record<string, number | null>; requests: Array<{ id: string; kind: string; tokens: number; position?: number }> }>;
  events: Array<{ type: "gc" | "stall"; kind?: string; start: number; dur: number; step: number | null }>;
  hop?: { engine: string; reason: string; backend_engine_ms: number | null; ours_ms: number };
}
