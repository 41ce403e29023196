/** What the live feed (GET /debug/stream) sends a few times a second: the server's "now", and the engine steps since the last one. */
import type { StepFeed } from "./stepFeed.js";
import type { EngineRow } from "./engineRow.js";

export interface Stats {
  n: number;
  p50: number | null;
  p90: number | null;
}

export interface Snapshot {
  model: string;
  state: string;
  engine: {
    running: number;
    waiting: number;
    batchSize: number;
    steps: number;
    kv: { usedBlocks: number; totalBlocks: number };
    engines?: EngineRow[];
  } | null;
  running: Array<{ id: string; route: string; phase: string; age_ms: number; prompt_tokens: number; generated_tokens: number; engine: string | null }>;
  recent: Array<{ id: string; route: string; status: number; finish_reason: string | null; generated_tokens: number; e2e_ms: number; ttft_ms: number | null; tpot_ms: number | null }>;
  window: { seconds: number; requests: number; tokens_per_second: number; ttft_ms: Stats; tpot_ms: Stats; e2e_ms: Stats };
  tokens_last_second: number;
  /** The engine steps since the last snapshot (the first has the whole window). */
  steps?: StepFeed;
}
