/**
 * A per-step timing log, from the study's server or from ours, as a
 * StepTrace: every level's total, named parts and unnamed remainder, mean
 * and p90 over the steps. The format is detected unless given.
 */
import { StepLogError } from "./errors.js";
import { isServerStepHeader, readServerStepLog, type StepKind } from "./serverStepLog.js";
import { summarizeTrace, type StepLogFormat, type StepTrace } from "./stepTrace.js";
import { isStudyLine, readStudyLog } from "./studyLog.js";

export type { StepKind } from "./serverStepLog.js";
export type { LevelSummary, Overlap, PartSummary, Series, StepLogFormat, StepTrace } from "./stepTrace.js";

export interface StepLogOptions {
  /** Our log only: keep the decode steps or the prefill steps (default: all). */
  only?: StepKind;
}

const EXAMPLES = {
  study: "`… - INFO: e-to-e time is 40.23` (the study's trace)",
  "llm-serving": "`[step 12] rows=1 requests=… gap 0.021 ms` followed by `  master.step 2.345 ms` (llm-serving serve --log-level debug)",
};

/** Which format the text is in: the one whose lines it has. Both or neither is an error. */
export function detectStepLogFormat(text: string): StepLogFormat {
  let study = 0;
  let ours = 0;
  for (const line of text.split(/\r?\n/)) {
    if (isServerStepHeader(line)) ours++;
    else if (isStudyLine(line)) study++;
  }
  if (study && ours) {
    throw new StepLogError(`the log has lines of both formats (${study} like ${EXAMPLES.study}, ${ours} like ${EXAMPLES["llm-serving"]}); say which format to read`);
  }
  if (ours) return "llm-serving";
  if (study) return "study";
  throw new StepLogError(`no step timing found: expected lines like ${EXAMPLES.study}, or ${EXAMPLES["llm-serving"]}`);
}

/**
 * The step log for analyze: the whole trace, and when it has prompt steps
 * among its decode steps (ours), its decode steps alone — t, the time per
 * token, is a decode step's, and a prompt's step can be many times longer.
 */
export function readStepLogForT(text: string, format?: StepLogFormat): { trace: StepTrace; decode?: StepTrace } {
  const trace = readStepLog(text, format);
  const mixed = trace.kinds !== undefined && trace.kinds.prefill > 0 && trace.kinds.decode > 0;
  return mixed ? { trace, decode: readStepLog(text, trace.format, { only: "decode" }) } : { trace };
}

export function readStepLog(text: string, format?: StepLogFormat, options: StepLogOptions = {}): StepTrace {
  const f = format ?? detectStepLogFormat(text);
  const raw = f === "study" ? readStudyLog(text) : readServerStepLog(text, options.only);
  if (raw.steps.length === 0 && !raw.excluded) throw new StepLogError(`no step found in the ${f} format: expected lines like ${EXAMPLES[f]}`);
  return summarizeTrace(raw);
}
