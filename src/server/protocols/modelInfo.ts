/** What the server says about its model: TGI's /info fields (llm-serving's model info uses the same). */
import { VERSION } from "../../version.js";
import type { Engine } from "../../engines/Engine.js";

/** `maxStop`: the most stop strings the asking family's routes take (TGI 4, llm-serving 16). */
export function modelInfo(engine: Engine, maxStop: number): Record<string, unknown> {
  engine.ensureAvailable();
  const m = engine.model!;
  const { info, placement } = m;
  const context = m.contextSize;
  // 0 in front of remote engines: their backends hold the context, and it is not known here (it said -1 tokens of input).
  const known = (n: number): number | null => (context > 0 ? n : null);
  return {
    model_id: engine.modelName,
    model_sha: null,
    model_dtype: info?.fileType ?? null,
    model_device_type: placement?.backend ?? "remote",
    model_pipeline_tag: "text-generation",
    max_concurrent_requests: m.rows + m.queueLimit,
    max_best_of: 1,
    max_stop_sequences: maxStop,
    max_input_length: known(context - 1),
    max_input_tokens: known(context - 1),
    max_total_tokens: known(context),
    max_batch_total_tokens: known(context * m.rows),
    validation_workers: 1,
    version: VERSION,
    sha: null,
    docker_label: null,
    router: "llm-serving",
    synthetic: info?.synthetic ?? null,
    // ours: what was asked for, and why it differs when it does
    context_size: known(context),
    requested_context_size: m.requestedContextSize,
    context_size_note: m.contextNote ?? null,
    // ours: which llama.cpp build runs the model, and how much of it is on the GPU
    gpu_backend: !placement || placement.backend === "cpu" ? null : placement.backend,
    gpu_devices: placement?.devices ?? [],
    gpu_layers: placement?.gpuLayers ?? null,
    model_layers: placement?.totalLayers ?? null,
    // ours: "chained" when each step's sampling is queued behind its decode (one libuv pool thread), else "awaited"
    sampling: m.sampling ?? null,
  };
}
