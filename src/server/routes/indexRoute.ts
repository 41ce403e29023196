/**
 * GET /: what this server is and where to go — name, version, model, the
 * API routes and the debug views. JSON for programs; a small page of links
 * for a browser (it asks for text/html).
 */
import type { FastifyInstance } from "fastify";
import { PACKAGE_NAME, VERSION } from "../../version.js";
import type { ServerContext } from "../ServerContext.js";

/** What every server serves. */
const LINKS: ReadonlyArray<[string, string]> = [
  ["POST /v1/chat/completions", "OpenAI chat completions"],
  ["POST /v1/completions", "OpenAI completions"],
  ["GET /v1/models", "OpenAI model list"],
  ["GET /v1/models/{model}", "OpenAI model"],
  ["POST /", "TGI generate, streamed when \"stream\": true"],
  ["POST /generate", "TGI generate"],
  ["POST /generate_stream", "TGI generate, streamed"],
  ["GET /info", "TGI model info"],
  ["POST /models/{model}/generate", "MindSpore llm-serving generate"],
  ["POST /models/{model}/generate_stream", "MindSpore llm-serving generate, streamed"],
  ["POST /models/{model}", "MindSpore llm-serving generate, streamed when \"stream\": true"],
  ["GET /serving/get_bs", "MindSpore llm-serving: requests running (also get_request_numbers, get_serverd_model_info)"],
  ["GET /health", "200 once the model is ready"],
  ["GET /stats", "running and waiting requests, batch size, KV blocks"],
];

/** What a server serves only with timing on (`--no-timing` switches these off: they answer 404). */
const TIMED_LINKS: ReadonlyArray<[string, string]> = [
  ["GET /metrics", "Prometheus metrics"],
  ["GET /debug/requests", "recent requests and where their time went"],
  ["GET /debug/requests/{id}", "one request's time points, spans, tokens and steps"],
  ["GET /debug/trace", "a Chrome trace of recent steps and requests (open in Perfetto)"],
  ["GET /debug/stream", "the live view as server-sent events (what the dashboard shows)"],
  ["GET /debug/steps", "the engine steps of the last seconds (?seconds=N, up to 60), with the requests each carried"],
  ["GET /debug/distributions", "the last minute's TTFT, inter-token gap and e2e histograms"],
  ["GET /dashboard", "the dashboard: requests in flight, recent ones, a request's waterfall"],
];

/** Without timing the page has no live view, but still opens timelines and client records from files. */
const UNTIMED_DASHBOARD: [string, string] = ["GET /dashboard", "the dashboard, for files only: timing is switched off on this server (--no-timing)"];

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function registerIndexRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.get("/", { config: { family: "operations", public: true } }, async (request, reply) => {
    const engine = ctx.engine;
    const links = ctx.instrumentation ? [...LINKS, ...TIMED_LINKS] : [...LINKS, UNTIMED_DASHBOARD];
    const index = {
      name: PACKAGE_NAME,
      version: VERSION,
      model: engine.modelName || null,
      status: engine.state,
      timing: ctx.instrumentation !== undefined,
      routes: Object.fromEntries(links),
    };
    if (!/text\/html/.test(request.headers.accept ?? "")) return index;
    const rows = links.map(([route, what]) => {
      const [method, path] = route.split(" ");
      const link = method === "GET" && !path.includes("{") ? `<a href="${escapeHtml(path)}">${escapeHtml(route)}</a>` : escapeHtml(route);
      return `<tr><td><code>${link}</code></td><td>${escapeHtml(what)}</td></tr>`;
    });
    const title = `${escapeHtml(index.name)} ${escapeHtml(index.version)}`;
    return reply
      .type("text/html; charset=utf-8")
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>` +
          `<h1>${title}</h1><p>model: <code>${escapeHtml(index.model ?? "(loading)")}</code> — ${escapeHtml(index.status)}</p>` +
          `<table>${rows.join("")}</table></body></html>\n`,
      );
  });
}
