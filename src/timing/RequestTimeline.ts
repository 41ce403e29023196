/**
 * One HTTP request's time points: the HTTP layer's own (HTTP_POINTS) and,
 * once the request reaches the engine, the engine's trace (REQUEST_POINTS,
 * its steps, per-token times).
 */
import { GrowableFloat64 } from "./Growable.js";
import { Marks } from "./Marks.js";
import { HTTP_POINTS } from "./points.js";
import type { GenAiRequestAttributes } from "./OtelExporter.js";
import type { RequestTrace } from "./RequestTrace.js";

export class RequestTimeline {
  readonly http = new Marks(HTTP_POINTS.length);
  /** Per output token: when its chunk was written to the socket (streamed responses). */
  readonly tokenWritten = new GrowableFloat64();
  trace: RequestTrace | undefined;
  route = "";
  /** A generation request (an API POST), not a read of models or serving info: what the live views list. */
  generation = false;
  status = 0;
  /** The connection closed before the response was complete. */
  aborted = false;
  /** What was asked of the model (generation routes only): for metrics and OpenTelemetry. */
  genAi: GenAiRequestAttributes | undefined;
  /** Prompt and generated token counts, finish reason: filled in by the generation routes. */
  promptTokens = 0;
  generatedTokens = 0;
  finishReason = "";
  /** W3C trace context of the caller, if it sent a traceparent header. */
  traceparent: string | undefined;

  constructor(readonly id: string) {}
}
