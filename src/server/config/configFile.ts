/**
 * The YAML configuration file. It follows llm-serving's sections where they
 * mean something here, plus our own keys in the same sections. Unknown keys
 * are an error; llm-serving keys that mean nothing for a llama.cpp engine are
 * accepted with a warning that says so.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { GPU_CHOICES } from "../../agent/gpu.js";
import { BACKEND_KINDS } from "../../engines/remote/backendProtocol.js";
import { BACKEND_DEFAULTS, type BackendConfig } from "../../engines/remote/RemoteBackend.js";
import { ROUTING_POLICIES } from "../../engines/router/routingPolicy.js";
import { apiKeyProblem } from "../apiKey.js";
import { httpUrlProblem, originProblem } from "./httpUrl.js";
import { MAX_SHUTDOWN_TIMEOUT_S, type ServeConfig } from "./ServeConfig.js";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A string our own check judges, said in its one message (the command line's checks say the same). */
const checked = (problemOf: (text: string) => string | undefined) =>
  z.string().superRefine((text, ctx) => {
    const problem = problemOf(text);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** A key that an HTTP header can carry (src/server/apiKey.ts). */
const apiKey = z.string().min(1).pipe(checked(apiKeyProblem));
const positiveInt = z.number().int().positive();

/** An http(s) URL, said in one message (zod's own URL check and ours said the same thing twice), as the command line says it. */
const httpUrl = (example: string) => checked((u) => httpUrlProblem(u, example));
const tierList = z.union([positiveInt, z.array(positiveInt).nonempty()]);
/** A browser origin for CORS (httpUrl.ts). */
const origin = checked(originProblem);

/** llm-serving keys with no meaning here, and why. */
const IGNORED: Record<string, Record<string, string>> = {
  model_config: {
    seq_length: "prompts are not padded to length tiers",
    vocab_size: "the vocabulary comes from the GGUF file",
    prefill_batch_size: "prompts join decode steps (chunked prefill)",
    zactivate_len: "no activation-length tiers on llama.cpp",
    model_type: "the architecture comes from the GGUF file",
    seq_type: "no sequence-length tiers",
    backend: "the backend is llama.cpp",
    model_dtype: "the weight type comes from the GGUF file",
    pad_token_id: "inputs are not padded",
    page_attention: "llama.cpp gives each row a fixed KV region; it does not page",
    current_index: "not used by llama.cpp",
  },
  serving_config: {
    agent_ports: "the agent runs in-process",
    start_device_id: "there are no NPU devices",
    enable_host_post_sampling: "sampling runs in llama.cpp",
    prefill_batch_waiting_time: "no batch waiting time: steps run back to back",
    decode_batch_waiting_time: "no batch waiting time: steps run back to back",
  },
  pa_config: {
    num_blocks: "the KV size is rows × context size; blocks are only a unit of accounting",
    decode_seq_length: "no sequence-length tiers",
  },
  tokenizer: {
    type: "the tokenizer comes from the GGUF file",
    vocab_file: "the tokenizer comes from the GGUF file",
  },
};

/** Whole llm-serving sections with no meaning here. */
const IGNORED_SECTIONS: Record<string, string> = {
  model_path: "models are single GGUF files (model_config.model_path)",
};

const schema = z.strictObject({
  model_config: z
    .strictObject({
      model_name: z.string().min(1).optional(),
      max_generate_length: positiveInt.optional(),
      end_token: z.union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative()).nonempty()], { error: "must be a token id or a non-empty list of token ids (whole numbers ≥ 0)" }).optional(),
      batching_strategy: z.enum(["continuous", "static"]).optional(),
      decode_batch_size: tierList.optional(),
      // ours
      model_path: z.string().min(1).optional(),
      threads: positiveInt.optional(),
      gpu: z.enum(GPU_CHOICES).optional(),
      gpu_layers: z.union([z.enum(["auto", "max"]), z.number().int().nonnegative()], { error: "must be auto, max or a whole number of layers" }).optional(),
      context_size: positiveInt.optional(),
      batch_tokens: positiveInt.optional(),
    })
    .optional(),
  serving_config: z
    .strictObject({
      server_ip: z.string().min(1).optional(),
      server_port: z.number().int().min(0).max(65535).optional(),
      // ours
      queue_limit: positiveInt.optional(),
      shutdown_timeout: z.number().nonnegative().max(MAX_SHUTDOWN_TIMEOUT_S).optional(),
      api_key: apiKey.optional(),
      cors_origins: z.union([origin, z.array(origin)]).optional(),
      access_log: z.boolean().optional(),
      model_name_check: z.enum(["on", "off"]).optional(),
    })
    .optional(),
  pa_config: z.strictObject({ block_size: positiveInt.optional() }).optional(),
  // ours
  timing_config: z
    .strictObject({
      enabled: z.boolean().optional(),
      timelines: positiveInt.optional(),
      steps: positiveInt.optional(),
      timeline_file: z.string().min(1).optional(),
      otlp_endpoint: httpUrl("http://127.0.0.1:4318").optional(),
      loop_resolution_ms: z.number().positive().max(5).optional(),
      log_level: z.enum(["error", "warn", "info", "debug"]).optional(),
    })
    .optional(),
  tokenizer: z.strictObject({}).optional(),
  // ours: serve through remote engines (docs/engines.md)
  engines: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        url: httpUrl("http://127.0.0.1:8080").optional(),
        kind: z.enum([...BACKEND_KINDS, "local"]),
        model: z.string().min(1).optional(),
        api_key: apiKey.optional(),
        max_outstanding: positiveInt.optional(),
        // Seconds, at most a day: Node's timers take at most 2^31 ms.
        health_interval: z.number().positive().max(86400).optional(),
        timeout: z.number().positive().max(86400).optional(),
        idle_timeout: z.number().positive().max(86400).optional(),
      }),
    )
    .nonempty()
    .optional(),
  routing: z.strictObject({ policy: z.enum(ROUTING_POLICIES).optional() }).optional(),
});

type EngineEntry = NonNullable<z.infer<typeof schema>["engines"]>[number];

const seconds = (s: number | undefined, fallback: number): number => (s === undefined ? fallback : s * 1000);

function backendConfig(e: EngineEntry & { url: string; kind: BackendConfig["kind"] }): BackendConfig {
  return {
    name: e.name,
    url: e.url,
    kind: e.kind,
    model: e.model,
    apiKey: e.api_key,
    maxOutstanding: e.max_outstanding ?? BACKEND_DEFAULTS.maxOutstanding,
    healthIntervalMs: seconds(e.health_interval, BACKEND_DEFAULTS.healthIntervalMs),
    firstByteTimeoutMs: seconds(e.timeout, BACKEND_DEFAULTS.firstByteTimeoutMs),
    idleTimeoutMs: seconds(e.idle_timeout, BACKEND_DEFAULTS.idleTimeoutMs),
  };
}

export interface LoadedConfig {
  config: Partial<ServeConfig>;
  warnings: string[];
}

/** Takes the ignored keys out of `raw` (in place), returning a warning for each. */
function stripIgnored(raw: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  for (const [section, why] of Object.entries(IGNORED_SECTIONS)) {
    if (section in raw) {
      warnings.push(`${section}: ignored (${why})`);
      delete raw[section];
    }
  }
  for (const [section, keys] of Object.entries(IGNORED)) {
    const body = raw[section];
    if (body === null || typeof body !== "object" || Array.isArray(body)) continue;
    for (const [key, why] of Object.entries(keys)) {
      if (key in body) {
        warnings.push(`${section}.${key}: ignored (${why})`);
        delete (body as Record<string, unknown>)[key];
      }
    }
  }
  return warnings;
}

/** engines.1.max_outstanding → engines.1 (gpu-b).max_outstanding: an entry is known by its name, not its place in the list. */
function whereOf(path: readonly PropertyKey[], raw: unknown): string {
  return path
    .map((part, i) => {
      const name = i === 1 && path[0] === "engines" && typeof part === "number" ? (raw as { engines?: Array<{ name?: unknown }> }).engines?.[part]?.name : undefined;
      return typeof name === "string" && name !== "" ? `${String(part)} (${name})` : String(part);
    })
    .join(".");
}

function describe(error: z.ZodError, raw: unknown): string {
  return error.issues
    .map((issue) => {
      const where = whereOf(issue.path, raw) || "(top level)";
      if (issue.code === "unrecognized_keys") return `${where ? `${where}: ` : ""}unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      // zod says "Invalid input: expected string, received undefined" for a key left out.
      if (issue.input === undefined && issue.code === "invalid_value") return `${where}: missing (one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")})`;
      if (issue.input === undefined && issue.code === "invalid_type") return `${where}: missing`;
      return `${where}: ${issue.message}`;
    })
    .join("; ");
}

/**
 * `source` names the file in errors; file paths in it (model_path,
 * timeline_file) are relative to `folder`, the file's own folder, as users
 * expect from a config file they keep beside their model.
 */
export function parseConfig(text: string, source = "config", folder = "."): LoadedConfig {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (err) {
    // The yaml library's message goes on with an excerpt of the file on further lines: the first line says what and where.
    throw new ConfigError(`${source}: not valid YAML: ${(err as Error).message.split("\n")[0].replace(/:$/, "")}`);
  }
  if (typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(`${source}: expected a mapping of sections at the top level`);
  const warnings = stripIgnored(raw as Record<string, unknown>);
  // reportInput: an issue says what it was given, so that a key left out can be told from a wrong one.
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new ConfigError(`${source}: ${describe(parsed.error, raw)}`);
  const { model_config: m = {}, serving_config: s = {}, pa_config: pa = {}, timing_config: tc = {}, engines, routing } = parsed.data;
  const names = engines?.map((e) => e.name) ?? [];
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new ConfigError(`${source}: engines: the name "${twice}" is used twice`);
  const locals = engines?.filter((e) => e.kind === "local") ?? [];
  if (locals.length > 1) throw new ConfigError(`${source}: engines: at most one engine of kind local (this process's model), got ${locals.length}`);
  const remotes = (engines ?? []).filter((e): e is EngineEntry & { url: string; kind: BackendConfig["kind"] } => e.kind !== "local");
  const noUrl = remotes.find((e) => e.url === undefined);
  if (noUrl) throw new ConfigError(`${source}: engines: "${noUrl.name}" needs a url (only kind local runs here)`);
  if (m.context_size !== undefined && m.max_generate_length !== undefined && m.context_size !== m.max_generate_length) {
    throw new ConfigError(`${source}: model_config.context_size (${m.context_size}) and max_generate_length (${m.max_generate_length}) disagree; give one`);
  }
  const tiers = m.decode_batch_size === undefined ? undefined : [m.decode_batch_size].flat();
  return {
    warnings,
    config: {
      modelPath: m.model_path === undefined ? undefined : resolve(folder, m.model_path),
      modelName: m.model_name,
      contextSize: m.context_size ?? m.max_generate_length,
      eosTokenIds: m.end_token === undefined ? undefined : [m.end_token].flat(),
      batching: m.batching_strategy,
      rows: tiers === undefined ? undefined : Math.max(...tiers),
      threads: m.threads,
      gpu: m.gpu,
      gpuLayers: m.gpu_layers,
      batchTokens: m.batch_tokens,
      host: s.server_ip,
      port: s.server_port,
      queueLimit: s.queue_limit,
      shutdownTimeoutMs: s.shutdown_timeout === undefined ? undefined : s.shutdown_timeout * 1000,
      apiKey: s.api_key,
      corsOrigins: s.cors_origins === undefined ? undefined : [s.cors_origins].flat(),
      accessLog: s.access_log,
      modelNameCheck: s.model_name_check,
      blockSize: pa.block_size,
      timing: tc.enabled,
      timelineCapacity: tc.timelines,
      stepCapacity: tc.steps,
      timelineFile: tc.timeline_file === undefined ? undefined : resolve(folder, tc.timeline_file),
      otlpEndpoint: tc.otlp_endpoint,
      loopResolutionMs: tc.loop_resolution_ms,
      logLevel: tc.log_level,
      engines: engines === undefined ? undefined : remotes.map(backendConfig),
      localEngineName: locals[0]?.name,
      routing: routing?.policy,
    },
  };
}

export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  return parseConfig(text, path, dirname(resolve(path)));
}
