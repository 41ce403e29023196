/**
 * What a caller asks the master for. One pass (validate.ts) turns it into a
 * ValidRequest before anything is queued.
 */
import type { SamplingParams } from "../agent/Sampling.js";
import type { RequestTrace } from "../timing/RequestTrace.js";

export interface GenerationRequest {
  /** Caller's id (for example an HTTP x-request-id); one is made when absent. */
  id?: string;
  /** Text (tokenized by the model, BOS added if the model asks for it) or token ids used as they are. */
  prompt: string | readonly number[];
  /** Most tokens to generate (≥ 1; prompt + max_new_tokens must fit one row). */
  maxNewTokens: number;
  /** Sampling parameters; missing ones are greedy's (temperature 0). */
  sampling?: Partial<SamplingParams>;
  /** Seed for sampling; a random one is chosen (and reported) when absent. */
  seed?: number;
  /** Generation ends before the first occurrence of any of these; the stop string itself is not emitted. */
  stop?: readonly string[];
  /** Keep generating past end-of-generation tokens (benchmarks that need fixed lengths). */
  ignoreEos?: boolean;
  /** End tokens replacing the model's own (llm-serving's end_token). */
  eosTokenIds?: readonly number[];
  /** Report each token's logprob. Off by default: it costs a sort of the vocabulary per token in llama.cpp. */
  logprobs?: boolean;
  /** Also report this many most likely alternatives per token (0–20). */
  topLogprobs?: number;
  /** If prompt + max_new_tokens would not fit the row, generate only what fits (for defaulted limits). */
  fitContext?: boolean;
  /**
   * Special tokens written as text in the prompt ("<s>", "<|im_end|>") are
   * read as those tokens, as llama.cpp's server, vLLM and TGI read a text
   * prompt. Default true; false for a chat rendered with no template of the
   * model's (its markers are plain text there, and so is what users wrote).
   */
  specialTokens?: boolean;
  /** Keep only the last `truncate` prompt tokens (after BOS), as TGI's truncate asks. Never done otherwise. */
  truncate?: number;
  /**
   * Where the request's time points go; the caller may make it first, so that
   * a refused request still shows how long its tokenization took.
   */
  trace?: RequestTrace;
  /** The caller's W3C traceparent: a remote engine's request continues its trace. */
  traceparent?: string;
  /** Requests with the same key go to the same remote engine under the affinity policy (default: the prompt's beginning). */
  sessionKey?: string;
  /** Aborted when the caller no longer wants the result (an HTTP client that left): the request is cancelled wherever it is, even while its prompt is tokenized. */
  signal?: AbortSignal;
}
