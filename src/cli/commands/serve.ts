/** `llm-serving serve`: the HTTP server (llm-serving, TGI and OpenAI APIs) on one model. */
import type { Command } from "commander";
import { describeSampling } from "../../agent/libuvPool.js";
import { describePlacement, type GpuChoice, type GpuLayers } from "../../agent/gpu.js";
import { loadLlama } from "../../agent/llama.js";
import { assertGgufFile } from "../../model/ggufFile.js";
import { resolveModelPath } from "../../model/modelSource.js";
import { ConfigError, loadConfigFile } from "../../server/config/configFile.js";
import { MAX_SHUTDOWN_TIMEOUT_S, mergeConfig, type ServeConfig } from "../../server/config/ServeConfig.js";
import { apiKeyProblem } from "../../server/apiKey.js";
import { httpUrlProblem, originProblem } from "../../server/config/httpUrl.js";
import { LlmServer } from "../../server/Server.js";
import { describeModelForUser } from "../modelSource.js";
import { assertAppendable } from "../../timing/JsonlSink.js";
import { isLogLevel } from "../../timing/Logger.js";
import { collectOption, gpuLayersOption, gpuOption, integerOption, nonNegativeOption, numberOption } from "../options.js";

interface ServeFlags {
  config?: string;
  model?: string;
  modelName?: string;
  host?: string;
  port?: number;
  threads?: number;
  gpu?: GpuChoice;
  gpuLayers?: GpuLayers;
  contextSize?: number;
  rows?: number;
  batchTokens?: number;
  batching?: string;
  blockSize?: number;
  queueLimit?: number;
  shutdownTimeout?: number;
  timing?: boolean;
  timelines?: number;
  timelineFile?: string;
  otlpEndpoint?: string;
  loopResolution?: number;
  logLevel?: string;
  accessLog?: boolean;
  apiKey?: string;
  corsOrigin?: string[];
  modelNameCheck?: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve a model over HTTP: llm-serving, TGI and OpenAI-compatible APIs")
    .option("--config <file>", "YAML configuration (llm-serving's sections); flags override it")
    .option("--model <path>", "a GGUF model (default: the built-in synthetic model)")
    .option("--model-name <name>", "the name clients use for the model (default: the file's name)")
    .option("--host <host>", "address to bind (default 127.0.0.1)")
    .option("--port <port>", "port (default 8080; 0 = any free port)", integerOption("--port", 0, 65535))
    .option("--threads <n>", "llama.cpp threads (default 1)", integerOption("--threads", 1, 256))
    .option("--gpu <auto|cuda|vulkan|off>", "llama.cpp build: auto takes a GPU build that loads, else the CPU; cuda or vulkan fail without one (default auto; GPU builds need npm ci --include=optional)", gpuOption)
    .option("--gpu-layers <auto|max|n>", "model layers offloaded to the GPU (default auto: as many as fit)", gpuLayersOption)
    .option("--context-size <n>", "tokens per request, prompt + output (default 2048)", integerOption("--context-size", 16))
    .option("--rows <n>", "requests decoded together (default 8)", integerOption("--rows", 1, 256))
    .option("--batch-tokens <n>", "most tokens per step (default 512)", integerOption("--batch-tokens", 1))
    .option("--batching <policy>", "continuous or static (default continuous)")
    .option("--block-size <n>", "KV accounting block size (default 16)", integerOption("--block-size", 1))
    .option("--queue-limit <n>", "most waiting requests before 503 (default 256)", integerOption("--queue-limit", 1))
    .option("--shutdown-timeout <seconds>", "time in-flight requests get on SIGTERM (default 30)", nonNegativeOption("--shutdown-timeout", MAX_SHUTDOWN_TIMEOUT_S))
    .option("--no-timing", "switch off all timing: timelines, response timings, /debug/*, /metrics, runtime monitors")
    .option("--timelines <n>", "recent request timelines kept for /debug (default 1000)", integerOption("--timelines", 1))
    .option("--timeline-file <file>", "also append each finished request's timeline to this JSONL file")
    .option("--otlp-endpoint <url>", "export request spans over OTLP/HTTP (e.g. http://127.0.0.1:4318)")
    .option("--loop-resolution <ms>", "event-loop stall detection resolution, ≤ 5 (default 5)", numberOption("--loop-resolution"))
    .option("--log-level <level>", "error, warn, info or debug (debug logs a time tree per step)")
    .option("--no-access-log", "no access-log line per request on stdout")
    .option("--api-key <key>", "clients must send Authorization: Bearer KEY (not for /health, /metrics and /); also LLM_SERVING_API_KEY")
    .option("--cors-origin <origin>", "let browsers on this origin call the server (repeat it, or * for any)", collectOption)
    .option("--model-name-check <on|off>", 'off: any model name means the served model (default on: unknown names are a 404; no name, "tgi" and URLs always work)')
    .action(serve);
}

function flagsToConfig(f: ServeFlags): Partial<ServeConfig> {
  if (f.batching !== undefined && f.batching !== "continuous" && f.batching !== "static") {
    throw new ConfigError(`--batching must be continuous or static, got "${f.batching}"`);
  }
  if (f.logLevel !== undefined && !isLogLevel(f.logLevel)) throw new ConfigError(`--log-level must be error, warn, info or debug, got "${f.logLevel}"`);
  if (f.loopResolution !== undefined && !(f.loopResolution > 0 && f.loopResolution <= 5)) throw new ConfigError(`--loop-resolution must be in (0, 5] ms, got ${f.loopResolution}`);
  if (f.modelNameCheck !== undefined && f.modelNameCheck !== "on" && f.modelNameCheck !== "off") throw new ConfigError(`--model-name-check must be on or off, got "${f.modelNameCheck}"`);
  const apiKey = f.apiKey ?? process.env.LLM_SERVING_API_KEY;
  // Named where it came from: a key in the environment was reported as --api-key, which the user never typed.
  const keyFrom = f.apiKey !== undefined ? "--api-key" : "LLM_SERVING_API_KEY";
  if (apiKey !== undefined && apiKey.trim() === "") throw new ConfigError(`${keyFrom} must not be empty`);
  const keyProblem = apiKey ? apiKeyProblem(apiKey) : undefined;
  if (keyProblem) throw new ConfigError(`${keyFrom} ${keyProblem}`);
  const otlpProblem = f.otlpEndpoint === undefined ? undefined : httpUrlProblem(f.otlpEndpoint, "http://127.0.0.1:4318");
  if (otlpProblem) throw new ConfigError(`--otlp-endpoint ${otlpProblem}`);
  for (const o of f.corsOrigin ?? []) {
    const problem = originProblem(o);
    if (problem) throw new ConfigError(`--cors-origin ${problem}`);
  }
  return {
    modelPath: f.model,
    modelName: f.modelName,
    host: f.host,
    port: f.port,
    threads: f.threads,
    gpu: f.gpu,
    gpuLayers: f.gpuLayers,
    contextSize: f.contextSize,
    rows: f.rows,
    batchTokens: f.batchTokens,
    batching: f.batching as ServeConfig["batching"] | undefined,
    blockSize: f.blockSize,
    queueLimit: f.queueLimit,
    shutdownTimeoutMs: f.shutdownTimeout === undefined ? undefined : f.shutdownTimeout * 1000,
    // commander sets timing to true unless --no-timing: only an explicit "off" overrides the file.
    timing: f.timing === false ? false : undefined,
    timelineCapacity: f.timelines,
    timelineFile: f.timelineFile,
    otlpEndpoint: f.otlpEndpoint,
    loopResolutionMs: f.loopResolution,
    logLevel: f.logLevel as ServeConfig["logLevel"] | undefined,
    // commander sets accessLog to true unless --no-access-log, as for timing.
    accessLog: f.accessLog === false ? false : undefined,
    apiKey: apiKey || undefined,
    corsOrigins: f.corsOrigin,
    modelNameCheck: f.modelNameCheck as ServeConfig["modelNameCheck"] | undefined,
  };
}

async function serve(flags: ServeFlags): Promise<void> {
  // A terminal that closed (SIGHUP) fails every later write to it: the drain must go on without its lines.
  process.stderr.on("error", () => undefined);
  const log = (line: string): boolean => process.stderr.write(`${line}\n`);
  const file = flags.config ? await loadConfigFile(flags.config) : { config: {}, warnings: [] };
  for (const w of file.warnings) log(`warning: ${w}`);
  const config = mergeConfig(file.config, flagsToConfig(flags));
  // A file that is not a model is said at once, before the server listens (the check reads only its header), and not checked again.
  const modelPath = config.modelPath;
  if (modelPath) await assertGgufFile(modelPath);
  // A timelines file that cannot be written is said at once too: the server would run and write nothing.
  if (config.timelineFile && config.timing) await assertAppendable(config.timelineFile, flags.timelineFile !== undefined ? "--timeline-file" : "timing_config.timeline_file");
  // A GPU build asked for by name is loaded before listening, so that its absence is one line, not a server that never turns ready.
  if (config.gpu === "cuda" || config.gpu === "vulkan") await loadLlama(config.gpu);
  const server = new LlmServer({ config, resolveModelPath: modelPath ? async () => modelPath : () => resolveModelPath(undefined, log) });
  let url: string;
  try {
    url = await server.listen(config.host, config.port);
  } catch (err) {
    // The model may be loading already: nothing else will stop the process.
    log(`error: ${listenError(err as NodeJS.ErrnoException, config.host, config.port)}`);
    process.exit(1);
  }
  // A gateway has no model to load: it asks its engines.
  const starting = config.engines.length > 0 && config.localEngineName === undefined ? "asking the engines" : "loading the model";
  log(`llm-serving listening on ${url} (${starting}; /health answers 200 once it is ready)`);
  stopOnSignals(server, config.shutdownTimeoutMs, log);

  try {
    await server.engine.ready;
  } catch (err) {
    log(`error: the model could not be loaded: ${(err as Error).message}`);
    await server.close(0);
    process.exit(1);
  }
  if (server.engine.state !== "ready") return; // a signal came while it loaded
  const model = server.engine.model!;
  const stats = server.engine.stats();
  const name = server.engine.modelName;
  if (model.info && model.placement) {
    log(describeModelForUser(model.info));
    log(`engine: ${describePlacement(model.placement)}`);
    if (model.sampling) log(`sampling: ${describeSampling(model.sampling)}`);
    if (model.contextNote) log(`note: ${model.contextNote} (see GET /info)`);
  }
  for (const e of stats.engines ?? []) {
    const where = e.kind === "local" ? "this process's model" : `${e.kind} at ${e.url}`;
    log(`engine ${e.name}: ${where}, ${e.healthy ? "healthy" : `not healthy (${e.lastError ?? "no answer"}); checked again with backoff`}`);
  }
  if (stats.engines) log(`serving "${name}" through ${stats.engines.length} engine(s), routing ${config.routing}. Try:`);
  else log(`serving "${name}" (${model.info!.fileType}, context ${model.contextSize} tokens per request, ${config.rows} ${config.rows === 1 ? "row" : "rows"}, ${config.batching} batching). Try:`);
  const auth = config.apiKey ? ` -H 'Authorization: Bearer …'` : "";
  log(`  curl ${url}/models/${name}/generate${auth} -H 'Content-Type: application/json' -d '{"inputs": "Hello", "parameters": {"max_new_tokens": 20, "do_sample": false}}'`);
  if (config.timing) log(`and watch it at ${url}/dashboard`);
}

/**
 * SIGTERM/SIGINT/SIGHUP: finish what is in flight (up to the timeout), then
 * exit 0; a second signal exits at once. SIGHUP too: the terminal that
 * started the server closed, or an operator expected a reload — neither
 * should cut the streams in flight (Node's default for it is to die at once).
 */
function stopOnSignals(server: LlmServer, timeoutMs: number, log: (line: string) => void): void {
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    const loading = server.engine.state === "loading";
    log(loading ? `${signal}: the model is still loading; exiting` : `${signal}: finishing in-flight requests (up to ${timeoutMs / 1000} s), then exiting`);
    server.close(timeoutMs).then(
      (finished) => {
        if (!loading) log(finished ? "all requests finished; bye" : "shutdown timeout: the remaining requests were cancelled; bye");
        process.exit(0);
      },
      (err: Error) => {
        // The requests are done; what failed is closing a file or an exporter.
        log(`error: while shutting down: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => stop("SIGHUP"));
}

/** What went wrong with listening, in one line a user can act on. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): string {
  const where = `${host}:${port}`;
  switch (err.code) {
    case "EADDRINUSE":
      return `cannot listen on ${where}: the port is in use (is another server running?); choose another with --port`;
    case "EADDRNOTAVAIL":
      return `cannot listen on ${where}: ${host} is not an address of this machine; use --host 127.0.0.1 or 0.0.0.0`;
    case "EACCES":
      return `cannot listen on ${where}: permission denied (ports below 1024 need privileges); choose another with --port`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot listen on ${where}: the host name ${host} does not resolve; use an IP address`;
    default:
      return `cannot listen on ${where}: ${err.message}`;
  }
}
