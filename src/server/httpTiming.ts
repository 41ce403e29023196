/**
 * The HTTP layer's timing of one request, in one place, made with the
 * request: the generation path tells it what happens and never asks whether
 * timing is on. With timing off (or on an untimed route) it is NO_TIMING,
 * which does nothing.
 */
import type { GenerationRequest } from "../master/GenerationRequest.js";
import type { GenerationStream } from "../master/GenerationStream.js";
import { now } from "../timing/clock.js";
import type { Instrumentation } from "../timing/Instrumentation.js";
import { HttpPoint } from "../timing/points.js";
import type { RequestBreakdown } from "../timing/requestBreakdown.js";
import type { RequestTimeline } from "../timing/RequestTimeline.js";
import { RequestTrace } from "../timing/RequestTrace.js";

/** What the metrics and spans say was asked of the model. */
type Asked = Pick<GenerationRequest, "maxNewTokens" | "sampling" | "fitContext">;

/** OpenTelemetry's gen_ai.operation.name of a route. */
export type Operation = "text_completion" | "chat";

export interface HttpTiming {
  /** The body is valid and the generation is about to be submitted: the engine's trace to link (undefined when off). */
  validated(): RequestTrace | undefined;
  /** What was asked of the model (for metrics and OpenTelemetry). */
  asked(generation: Asked, operation: Operation, model: string): void;
  /** The engine refused it: not a generation for the metrics. */
  refused(): void;
  /** The engine took it. */
  accepted(stream: GenerationStream): void;
  /** The response's headers are going out (streamed responses; fastify's hook times the others). */
  responseStarted(status: number): void;
  /** Output token `index`'s chunk was written to the socket. */
  tokenWritten(index: number): void;
  /** How the generation ended. */
  ended(generatedTokens: number, finishReason: string, promptTokens?: number): void;
  /** The request's timings so far, for a response's Server-Timing and body (undefined when off). */
  breakdown(): RequestBreakdown | undefined;
}

const nothing = (): undefined => undefined;

export const NO_TIMING: HttpTiming = Object.freeze({
  validated: nothing,
  asked: nothing,
  refused: nothing,
  accepted: nothing,
  responseStarted: nothing,
  tokenWritten: nothing,
  ended: nothing,
  breakdown: nothing,
});

export class TimelineTiming implements HttpTiming {
  constructor(
    private readonly timeline: RequestTimeline,
    private readonly instrumentation: Instrumentation,
  ) {}

  validated(): RequestTrace {
    this.timeline.http.mark(HttpPoint.validated);
    // Made here, so that a prompt refused after tokenizing still shows its tokenize time.
    this.timeline.trace = new RequestTrace();
    return this.timeline.trace;
  }

  asked(generation: Asked, operation: Operation, model: string): void {
    const s = generation.sampling;
    this.timeline.genAi = {
      operation,
      model,
      maxTokens: generation.fitContext ? undefined : generation.maxNewTokens,
      temperature: s?.temperature,
      topP: s?.topP,
      topK: s?.topK,
      seed: undefined,
    };
  }

  refused(): void {
    this.timeline.genAi = undefined;
  }

  accepted(stream: GenerationStream): void {
    this.timeline.promptTokens = stream.prompt.length;
    if (this.timeline.genAi) this.timeline.genAi.seed = stream.seed;
  }

  responseStarted(status: number): void {
    this.timeline.status = status;
    this.timeline.http.mark(HttpPoint.response_started);
  }

  tokenWritten(index: number): void {
    this.timeline.tokenWritten.set(index, now());
  }

  ended(generatedTokens: number, finishReason: string, promptTokens?: number): void {
    // A remote engine's stream has no prompt ids: its backend counted them.
    if (this.timeline.promptTokens === 0 && promptTokens) this.timeline.promptTokens = promptTokens;
    this.timeline.generatedTokens = generatedTokens;
    this.timeline.finishReason = finishReason;
  }

  breakdown(): RequestBreakdown {
    return this.instrumentation.breakdown(this.timeline);
  }
}
