/**
 * Every route of the three API families, with what a fuzz case needs to
 * know about it: its family (which error shape it answers with), the shape
 * of its success body, and for generation routes a small valid body that
 * cases start from, so that each case breaks exactly one thing.
 */
export type Family = "llm-serving" | "tgi" | "openai" | "operations";

/** How a 2xx body of the route is checked (see fuzzExpect.ts). */
export type Shape =
  | "tgi"
  | "tgi-stream"
  | "tgi-by-flag"
  | "llm-serving"
  | "llm-serving-stream"
  | "llm-serving-by-flag"
  | "completion"
  | "chat"
  | "json"
  | "serving-event"
  | "metrics";

export type Json = Record<string, unknown>;

export interface Route {
  method: "GET" | "POST";
  path: string;
  family: Family;
  shape: Shape;
}

export interface BodyParts {
  prompt?: unknown;
  maxTokens?: unknown;
  /** Sampling and other parameters, put where this family expects them. */
  params?: Json;
  /** Top-level keys (besides the prompt and the parameters object). */
  top?: Json;
}

export interface GenRoute extends Route {
  method: "POST";
  /** Where the prompt goes, as an error would name it. */
  promptParam: string;
  /** The family's name for the output limit, as an error would name it (without a "parameters." prefix). */
  maxTokensParam: string;
  /** "parameters." for llm-serving and TGI, "" for OpenAI. */
  paramPrefix: string;
  /** A small valid request (4 greedy tokens), with `parts` changed. */
  body(parts?: BodyParts): Json;
}

/** The model name the test server serves (test/helpers/serverHarness.ts). */
export const MODEL = "llama2";

function nested(extraParams: Json) {
  return (parts: BodyParts = {}): Json => {
    const parameters: Json = { max_new_tokens: "maxTokens" in parts ? parts.maxTokens : 4, ...extraParams, ...parts.params };
    if (parameters.max_new_tokens === undefined) delete parameters.max_new_tokens;
    const body: Json = { inputs: "prompt" in parts ? parts.prompt : "fuzz", parameters, ...parts.top };
    if (body.inputs === undefined) delete body.inputs;
    return body;
  };
}

function llmServing(path: string, shape: Shape): GenRoute {
  // do_sample defaults to true in llm-serving: the base request turns it off to stay greedy.
  return { method: "POST", path, family: "llm-serving", shape, promptParam: "inputs", maxTokensParam: "max_new_tokens", paramPrefix: "parameters.", body: nested({ do_sample: false }) };
}

function tgi(path: string, shape: Shape): GenRoute {
  return { method: "POST", path, family: "tgi", shape, promptParam: "inputs", maxTokensParam: "max_new_tokens", paramPrefix: "parameters.", body: nested({}) };
}

function flat(parts: BodyParts, promptKey: string, prompt: unknown, maxKey: string): Json {
  const body: Json = { model: MODEL, [promptKey]: prompt, [maxKey]: "maxTokens" in parts ? parts.maxTokens : 4, ...parts.params, ...parts.top };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}

export const LS_GENERATE = llmServing(`/models/${MODEL}/generate`, "llm-serving");
export const LS_STREAM = llmServing(`/models/${MODEL}/generate_stream`, "llm-serving-stream");
export const LS_BY_FLAG = llmServing(`/models/${MODEL}`, "llm-serving-by-flag");
export const TGI_GENERATE = tgi("/generate", "tgi");
export const TGI_STREAM = tgi("/generate_stream", "tgi-stream");
/** TGI's POST / (its cases are in hardening.test.ts). */
export const TGI_ROOT = tgi("/", "tgi-by-flag");

export const COMPLETIONS: GenRoute = {
  method: "POST",
  path: "/v1/completions",
  family: "openai",
  shape: "completion",
  promptParam: "prompt",
  maxTokensParam: "max_tokens",
  paramPrefix: "",
  body: (parts = {}) => flat(parts, "prompt", "prompt" in parts ? parts.prompt : "fuzz", "max_tokens"),
};

export const CHAT: GenRoute = {
  method: "POST",
  path: "/v1/chat/completions",
  family: "openai",
  shape: "chat",
  promptParam: "messages[0].content",
  maxTokensParam: "max_tokens",
  paramPrefix: "",
  body: (parts = {}) => flat(parts, "messages", [{ role: "user", content: "prompt" in parts ? parts.prompt : "fuzz" }], "max_tokens"),
};

/** The generation routes that exist today (TGI_ROOT is tested on its own). */
export const GEN_ROUTES: readonly GenRoute[] = [LS_GENERATE, LS_STREAM, LS_BY_FLAG, TGI_GENERATE, TGI_STREAM, COMPLETIONS, CHAT];

const get = (path: string, family: Family, shape: Shape): Route => ({ method: "GET", path, family, shape });

export const GET_ROUTES: readonly Route[] = [
  get("/", "operations", "json"),
  get("/serving/get_bs", "llm-serving", "serving-event"),
  get("/serving/get_request_numbers", "llm-serving", "serving-event"),
  get("/serving/get_serverd_model_info", "llm-serving", "serving-event"),
  get("/info", "tgi", "json"),
  get("/v1/models", "openai", "json"),
  get("/health", "operations", "json"),
  get("/stats", "operations", "json"),
  get("/metrics", "operations", "metrics"),
  get("/debug/requests", "operations", "json"),
  get("/debug/trace", "operations", "json"),
];

/** /debug/requests/:id answers 404 for ids it does not know: that is its documented answer, in the operations shape. */
export const DEBUG_REQUEST = get("/debug/requests/:id", "operations", "json");

/** A path no route matches; the not-found handler answers in the operations shape. */
export function unrouted(method: "GET" | "POST", path: string): Route {
  return { method, path, family: "operations", shape: "json" };
}

/** The status a validation error has on this route: TGI answers 422, the others 400. */
export function invalidStatus(route: Route): number {
  return route.family === "tgi" ? 422 : 400;
}

/** Whether the route streams for this body (by-flag routes follow "stream"). */
export function streams(route: Route, body: unknown): boolean {
  if (route.shape === "tgi-stream" || route.shape === "llm-serving-stream") return true;
  const flag = (body as Json | null)?.stream;
  return flag === true || (route.family === "llm-serving" && typeof flag === "string" && flag.trim().toLowerCase() === "true");
}

/**
 * The routes a corpus row runs on: one route per group (by default per API
 * family), rotating with the row's index. Every route is covered across the
 * rows without running every row on routes that share one request parser.
 */
export function routesFor(index: number, routes: readonly GenRoute[] = GEN_ROUTES, group: (route: GenRoute) => string = (route) => route.family): GenRoute[] {
  const groups = new Map<string, GenRoute[]>();
  for (const route of routes) groups.set(group(route), [...(groups.get(group(route)) ?? []), route]);
  return [...groups.values()].map((g) => g[index % g.length]);
}

/** Groups for rows where chat and completions read the field differently (the prompt). */
export const chatApart = (route: GenRoute): string => (route.path.endsWith("/chat/completions") ? "chat" : route.family);
