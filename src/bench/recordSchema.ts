/**
 * The client record's format, as the load client writes it (one JSON object
 * per line) and as analyze checks it on load: one schema, from which
 * docs/client-record.schema.json (JSON Schema) is generated — a test checks
 * that the two agree. Times are ms on the client's monotonic clock from the
 * run's start; null where a point was not reached.
 */
import { z } from "zod";
import { BACKEND_SOURCES } from "../timing/backendTimings.js";

const time = z.number().nullable();
const ms = (what: string) => z.number().optional().describe(what);

const backend = z
  .object({
    source: z.enum(BACKEND_SOURCES),
    validationMs: ms("request received → queued"),
    queueMs: ms("waiting to be scheduled"),
    loadMs: ms("loading the model first"),
    prefillMs: ms("prompt processing up to the first token"),
    decodeMs: ms("generation (llama.cpp, vLLM, ours: first → last token; Ollama: every generated token)"),
    inferenceMs: ms("prefill and decode as one figure (TGI)"),
    totalMs: ms("the backend's own end-to-end time"),
    perTokenMs: ms("the backend's time per output token, as it defines it"),
    promptTokens: z.number().optional(),
    generatedTokens: z.number().optional(),
    raw: z.record(z.string(), z.unknown()).describe("the fields as the backend sent them, in its own units"),
  })
  .describe("What the backend reported about its own time, in ms; a figure it did not report is absent");

/**
 * What analyze needs of a record is id, sent, end and outputTokens; the rest
 * has defaults, so that records another tool wrote from its own
 * measurements load too.
 */
export const clientRecordSchema = z
  .object({
    id: z.string().min(1).describe("the x-request-id sent (the join key with the server's records)"),
    serverId: z.string().optional().describe("the request id the server answered with"),
    index: z.number().int().nonnegative().default(0),
    planned: time.default(null).describe("when the request was due to be sent"),
    sent: z.number().describe("when it was sent"),
    headers: time.default(null).describe("response headers received"),
    firstByte: time.default(null).describe("first byte of the body received"),
    chunks: z.array(z.number()).default([]).describe("arrival of each chunk of the body"),
    tokens: z.array(z.number()).default([]).describe("arrival of each token-bearing event (streamed responses)"),
    end: z.number().describe("the response's end (or the error's)"),
    status: z.number().int().default(200).describe("HTTP status; 0 when there was no response"),
    error: z.string().optional(),
    resent: z.string().optional().describe("sent a second time, on a connection of its own, after this error on a kept-alive connection the server had closed (sent is then the second send)"),
    outputTokens: z.number().int().nonnegative().describe("output tokens, as the server reported or as counted in the stream"),
    maxTokens: z.number().int().positive().optional().describe("the output length asked for (default: outputTokens); requests are grouped by it"),
    promptChars: z.number().int().nonnegative().default(0),
    stream: z.boolean().default(false),
    protocol: z.string().default("unknown"),
    backend: backend.optional(),
  })
  .describe("One request as llm-serving's load client (bench, sweep) records it: one JSON object per line of a JSONL file. Times in ms on the client's monotonic clock from the run's start; null where a point was not reached");

export type ClientRecordJson = z.infer<typeof clientRecordSchema>;

/** The JSON Schema of a client record (docs/client-record.schema.json). */
export function clientRecordJsonSchema(): object {
  return { title: "llm-serving client record", ...z.toJSONSchema(clientRecordSchema) };
}

/** The record with its defaults filled in, or what is wrong with it in one line ("end: missing"). */
export function checkRecord(value: unknown): { record: ClientRecordJson & { maxTokens: number } } | { problem: string } {
  const r = clientRecordSchema.safeParse(value);
  if (r.success) return { record: { ...r.data, maxTokens: r.data.maxTokens ?? r.data.outputTokens } };
  const problem = r.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "(the record)"}: ${i.code === "invalid_type" && i.input === undefined ? "missing" : i.message}`)
    .join("; ");
  return { problem };
}
