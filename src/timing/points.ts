/**
 * Names of the time points, as defined in docs/timing.md (the source of truth;
 * a test checks that this table and the document agree). Marks are stored by
 * index in preallocated Float64Arrays, so taking one costs a clock read and a store.
 */

/** Boundaries of one engine step, in the order they are taken. */
export const STEP_POINTS = [
  "step_start",
  "scheduled",
  "inputs_submitted",
  "decode_start",
  "decode_end",
  "sampled",
  "postprocessed",
  "delivered",
] as const;

export type StepPointName = (typeof STEP_POINTS)[number];

/** Index of each step point, e.g. StepPoint.decode_start. */
export const StepPoint = Object.freeze(Object.fromEntries(STEP_POINTS.map((name, i) => [name, i]))) as {
  readonly [K in StepPointName]: number;
};

/** Request lifecycle points the engine core takes; the HTTP layer adds its own before and after. */
export const REQUEST_POINTS = ["tokenized", "queued", "admitted", "prefill_start", "prefill_end", "first_token", "last_token", "finished"] as const;

export type RequestPointName = (typeof REQUEST_POINTS)[number];

export const RequestPoint = Object.freeze(Object.fromEntries(REQUEST_POINTS.map((name, i) => [name, i]))) as {
  readonly [K in RequestPointName]: number;
};

/** Named spans of a step, each between two step points (docs/timing.md, "Step spans"). */
export const STEP_SPANS = [
  { name: "schedule", from: "step_start", to: "scheduled" },
  { name: "build", from: "scheduled", to: "inputs_submitted" },
  { name: "dispatch", from: "inputs_submitted", to: "decode_start" },
  { name: "decode", from: "decode_start", to: "decode_end" },
  { name: "sample", from: "decode_end", to: "sampled" },
  { name: "postprocess", from: "sampled", to: "postprocessed" },
  { name: "deliver", from: "postprocessed", to: "delivered" },
] as const satisfies ReadonlyArray<{ name: string; from: StepPointName; to: StepPointName }>;

export type StepSpanName = (typeof STEP_SPANS)[number]["name"];

/** Points the HTTP layer takes for each request, around the engine's REQUEST_POINTS. */
export const HTTP_POINTS = ["received", "body_parsed", "validated", "response_started", "response_ended", "disconnected"] as const;

export type HttpPointName = (typeof HTTP_POINTS)[number];

export const HttpPoint = Object.freeze(Object.fromEntries(HTTP_POINTS.map((name, i) => [name, i]))) as {
  readonly [K in HttpPointName]: number;
};

/** Points of a request relayed to a remote engine, on our clock (docs/timing.md, "Hop time points"). */
export const HOP_POINTS = ["connected", "sent", "first_byte", "last_byte"] as const;

export type HopPointName = (typeof HOP_POINTS)[number];

export const HopPoint = Object.freeze(Object.fromEntries(HOP_POINTS.map((name, i) => [name, i]))) as {
  readonly [K in HopPointName]: number;
};

/**
 * The spans a request's server time is split into, in order (docs/timing.md,
 * "Request spans"). A request served here has queue, step and loop; one
 * relayed to a remote engine has connect, send, wait and stream instead.
 */
export const REQUEST_SPANS = ["receive", "validate", "tokenize", "enqueue", "queue", "step", "loop", "connect", "send", "wait", "stream", "respond"] as const;

export type RequestSpanName = (typeof REQUEST_SPANS)[number];

/** Durations derived from the marks (docs/timing.md, "Request durations", gives each formula). */
export const REQUEST_DURATIONS = ["e2e", "ttft", "tpot", "itl", "queue", "prefill", "decode", "respond", "overhead", "gc", "stall", "untimed", "coverage", "time_to_free"] as const;

export type RequestDurationName = (typeof REQUEST_DURATIONS)[number];

/**
 * The step spans grouped like the study's model-side trace (master → worker →
 * agent): each level is the sum of the step spans it covers. The debug log
 * tree and the sweep's step table both use it.
 */
export const STEP_TREE: ReadonlyArray<{ name: string; depth: number; spans: readonly StepSpanName[] }> = [
  { name: "master.step", depth: 0, spans: ["schedule", "build", "dispatch", "decode", "sample", "postprocess", "deliver"] },
  { name: "master.schedule", depth: 1, spans: ["schedule"] },
  { name: "worker.run", depth: 1, spans: ["build", "dispatch", "decode", "sample"] },
  { name: "worker.build", depth: 2, spans: ["build"] },
  { name: "worker.dispatch", depth: 2, spans: ["dispatch"] },
  { name: "agent.predict", depth: 2, spans: ["decode", "sample"] },
  { name: "agent.decode", depth: 3, spans: ["decode"] },
  { name: "agent.sample", depth: 3, spans: ["sample"] },
  { name: "master.postprocess", depth: 1, spans: ["postprocess"] },
  { name: "master.deliver", depth: 1, spans: ["deliver"] },
];
