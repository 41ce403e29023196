/** llm-serving's library surface: make models, load them into an agent, serve requests through a master. */
export { Agent, type AgentOptions, type ModelInfo, type RowInput, type RowOutput } from "./agent/Agent.js";
export { GREEDY, type SamplingParams } from "./agent/Sampling.js";
export { EngineUnavailableError, type Engine, type EngineModel, type EngineState, type EngineTokens } from "./engines/Engine.js";
export { LocalEngine, type LocalEngineOptions } from "./engines/LocalEngine.js";
export { EngineError, RequestError, type RequestErrorCode } from "./master/errors.js";
export type { GenerationRequest } from "./master/GenerationRequest.js";
export { collect, GenerationStream, type Completion, type FinishReason, type GenerationEvent, type TokenEvent } from "./master/GenerationStream.js";
export type { KvUsage } from "./master/KvUsage.js";
export { Master, type MasterOptions, type MasterState, type MasterStats } from "./master/Master.js";
export type { BatchingPolicy } from "./master/Scheduler.js";
export { Step, type BatchRow } from "./master/Step.js";
export { defaultModelPath, ensureDefaultModel } from "./model/defaultModel.js";
export { makeModel, type MakeModelOptions } from "./model/SyntheticModel.js";
export { PRESET_NAMES, PRESETS, type PresetName } from "./model/presets.js";
export { STEP_POINTS, StepPoint, REQUEST_POINTS, RequestPoint } from "./timing/points.js";
