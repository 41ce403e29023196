/**
 * Text Generation Inference: /generate_stream for prompts (text only), each
 * event one token with its id, the last with the generated text and details;
 * chats go to its Messages API (/v1/chat/completions). TGI refuses
 * temperature 0: greedy is do_sample false.
 */
import type { FinishReason } from "../../master/GenerationStream.js";
import { RequestError } from "../../master/errors.js";
import { count, isObject, type BackendCallSpec, type BackendEvent, type BackendProtocol, type RemoteRequest } from "./backendProtocol.js";
import { openAiCall, readOpenAiChunk } from "./openAiProtocol.js";

function call(r: RemoteRequest, model: string | undefined): BackendCallSpec {
  if (r.messages) return openAiCall(r, model ?? "tgi");
  if (typeof r.prompt !== "string") throw new RequestError("invalid_prompt", "prompt: a TGI backend takes text, not token ids", "prompt");
  const s = r.sampling;
  const sample = s.temperature > 0;
  const parameters: Record<string, unknown> = { max_new_tokens: r.maxNewTokens, do_sample: sample, details: true };
  if (sample) {
    parameters.temperature = s.temperature;
    if (s.topK > 0) parameters.top_k = s.topK;
    // TGI wants top_p in (0, 1): 1 means off.
    if (s.topP < 1) parameters.top_p = s.topP;
  }
  if (s.repetitionPenalty !== 1) parameters.repetition_penalty = s.repetitionPenalty;
  if (s.frequencyPenalty !== 0) parameters.frequency_penalty = s.frequencyPenalty;
  if (r.seed !== undefined) parameters.seed = r.seed;
  if (r.stop.length > 0) parameters.stop = r.stop;
  return { path: "/generate_stream", body: { inputs: r.prompt, parameters, stream: true } };
}

const FINISH: Record<string, FinishReason> = { length: "length", eos_token: "eos", stop_sequence: "stop" };

function read(chunk: unknown): BackendEvent {
  if (!isObject(chunk)) return { text: "", tokens: 0, error: "the backend sent a chunk that is not a JSON object" };
  if ("choices" in chunk) return readOpenAiChunk(chunk);
  if (typeof chunk.error === "string") return { text: "", tokens: 0, error: chunk.error };
  const token = isObject(chunk.token) ? chunk.token : undefined;
  const special = token?.special === true;
  const text = !special && typeof token?.text === "string" ? token.text : "";
  const event: BackendEvent = { text, tokens: token ? 1 : 0, tokenIds: typeof token?.id === "number" ? [token.id] : [] };
  if (isObject(chunk.details)) {
    event.finish = FINISH[String(chunk.details.finish_reason)] ?? "eos";
    event.generatedTokens = count(chunk.details.generated_tokens);
    event.promptTokens = count(chunk.details.input_length);
  }
  return event;
}

export const tgiProtocol: BackendProtocol = { kind: "tgi", call, read, healthPath: "/health" };
