/**
 * The analysis input readers (src/analysis/input): tables of e2e by output
 * length and per-step timing logs, each checked against a known answer. The
 * study's data is copied here (CI has no ../shared).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { TableError, StepLogError } from "../src/analysis/input/errors.js";
import { readStepLog, detectStepLogFormat, type StepTrace } from "../src/analysis/input/stepLog.js";
import { stepTraceTable } from "../src/analysis/input/stepTable.js";
import { describeTable, readTable, type TableOptions } from "../src/analysis/input/table.js";
import { Marks } from "../src/timing/Marks.js";
import { STEP_POINTS, STEP_SPANS, STEP_TREE, StepPoint } from "../src/timing/points.js";
import type { StepRecord } from "../src/timing/StepRecord.js";
import { stepLogTree } from "../src/timing/stepLog.js";

const SEED_TABLE = `| output length | \`send_request\` | \`LLMServer.generate_answer\` | \`get_full_res\` | time per token | comment |
| :-: | :-: | :-: | :-: | :-: | :-: |
|   1 | 0.0001990795135498047  |  0.06877923011779785 |  0.06897521018981934 | 0.068975210189819 | |
|   5 | 0.00018739700317382812 |  0.23348283767700195 |  0.23371005058288574 | 0.046742010116577 | |
|  10 | 0.00021958351135253906 |  0.454270601272583   |  0.4545447826385498  | 0.045454478263855 | |
|  30 | 0.00020813941955566406 |  1.2642827033996582  |  1.2646539211273193  | 0.042155130704244 | |
|  60 | 0.00024700164794921875 |  2.4974281787872314  |  2.4978628158569336  | 0.041631046930949 | |
|  65 | 0.0002522468566894531  |  2.7048661708831787  |  2.7053494453430176  | 0.041620760697585 | avg len |
| 120 | 0.00019788742065429688 |  5.602715492248535   |  5.603420734405518   | 0.046695172786713 | |
| 240 | 0.00025391578674316406 | 10.093211650848389   | 10.09423828125       | 0.042059326171875 | |
| 360 | 0.00026154518127441406 | 15.20837664604187    | 15.20983362197876    | 0.04224953783883  | |
| 480 | 0.00025200843811035156 | 20.217636108398438   | 20.21990203857422    | 0.042124795913696 | |`;

const SEED_TRACE = `[AsyncMaster._run_workers_async -> Worker._predict -> DisModel.call -> WorkAgent.predict]
  /home/ma-user/work/llm-serving/mindspore_serving/worker/worker.py[line:127] - INFO: pre-process time is 0.08249282836914062 
    /home/ma-user/work/llm-serving/mindspore_serving/worker/model_init_multimodel.py[line:505] - DEBUG: get input lite time is 0.1933574676513672 
      /home/ma-user/work/llm-serving/mindspore_serving/agent/agent_multi_post_method_task1.py[line:756] - INFO: agent pre-process time is 11.926651000976562
      /home/ma-user/work/llm-serving/mindspore_serving/agent/agent_multi_post_method_task1.py[line:820] - INFO: predict time is 22.455215454101562
      /home/ma-user/work/llm-serving/mindspore_serving/agent/agent_multi_post_method_task1.py[line:766] - INFO: multi_thread_post_sampling time is 3.0431747436523438
      /home/ma-user/work/llm-serving/mindspore_serving/agent/agent_multi_post_method_task1.py[line:768] - INFO: post_time is 3.2088756561279297
      /home/ma-user/work/llm-serving/mindspore_serving/agent/agent_multi_post_method_task1.py[line:769] - INFO: npu_total_time is 38.44714164733887
    /home/ma-user/work/llm-serving/mindspore_serving/worker/model_init_multimodel.py[line:530] - INFO: model.call time is 39.46876525878906 
  /home/ma-user/work/llm-serving/mindspore_serving/worker/worker.py[line:144] - INFO: DecodeTime 39.5505428314209
/home/ma-user/work/llm-serving/mindspore_serving/master/master.py[line:420] - INFO: post_process_time time is 0.3349781036376953
/home/ma-user/work/llm-serving/mindspore_serving/master/master.py[line:421] - INFO: e-to-e time is 40.23146629333496`;

/** The study's file as a whole: prose, the table, prose, the trace in a code fence. */
const SEED_FILE = ["### llm-serving 时间打点", "", "⚪ 服务侧对内调用端到端时间 (秒s)", "", SEED_TABLE, "", "⚪ 模型侧单 token 端到端推理时间 (毫秒ms)", "", "```", SEED_TRACE, "```", "", "单 token 推理时间很稳定约 40ms"].join("\n");

const close = (actual: number, expected: number, what = ""): void => {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
};

/** Asserts that `read` throws one TableError line matching `pattern`. */
function tableError(read: () => unknown, pattern: RegExp): void {
  assert.throws(read, (e: unknown) => {
    assert.ok(e instanceof TableError, `a TableError, got ${String(e)}`);
    assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

// ---- tables ----

type Layout = "csv" | "tsv" | "markdown";

function render(layout: Layout, head: string[], rows: string[][]): string {
  if (layout === "markdown") return [head, head.map(() => ":-:"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
  return [head, ...rows].map((r) => r.join(layout === "csv" ? "," : "\t")).join("\n");
}

const LENGTHS = [1, 5, 10, 30, 60, 65, 120, 240, 360, 480];

/** e2e = a + b·n ms (each repetition a little slower, so that rows differ), written in `unit`. */
function generated(a: number, b: number, reps: number): Array<{ n: number; ms: number }> {
  return LENGTHS.flatMap((n) => Array.from({ length: reps }, (_, r) => ({ n, ms: a + b * n + 0.25 * r })));
}

const NAMINGS: Array<{ length: string; e2e: string; unit: "ms" | "s"; from: string }> = [
  { length: "output_tokens", e2e: "e2e_ms", unit: "ms", from: "header" },
  { length: "n", e2e: "latency (s)", unit: "s", from: "header" },
  { length: "output length", e2e: "get_full_res", unit: "s", from: "values" },
  { length: "tokens", e2e: "total [ms]", unit: "ms", from: "header" },
  { length: "length", e2e: "end-to-end", unit: "ms", from: "values" },
  { length: "Output Tokens (mean)", e2e: "client e2e", unit: "s", from: "values" },
];

describe("readTable", () => {
  for (const layout of ["csv", "tsv", "markdown"] as const) {
    for (const naming of NAMINGS) {
      test(`${layout}, columns "${naming.length}" and "${naming.e2e}" in ${naming.unit}: every row, repetitions kept`, () => {
        const rows = generated(35, 41.5, 3);
        const perMs = naming.unit === "s" ? 1000 : 1;
        const text = render(layout, ["time per token", naming.length, naming.e2e, "comment"], rows.map((r, i) => [String(r.ms / perMs / r.n), String(r.n), String(r.ms / perMs), i === 4 ? "warm" : ""]));
        const t = readTable(text);
        assert.equal(t.format, layout);
        assert.equal(t.length.header, naming.length);
        assert.equal(t.e2e.header, naming.e2e);
        assert.deepEqual([t.e2e.unit, t.e2e.from], [naming.unit, naming.from]);
        assert.equal(t.rows.length, 30);
        assert.equal(t.lengths, 10);
        rows.forEach((r, i) => {
          assert.equal(t.rows[i].length, r.n);
          close(t.rows[i].e2eMs, r.ms, `row ${i}`);
        });
        assert.equal(t.rows[4].comment, "warm");
        assert.deepEqual(t.unused, ["time per token"]);
      });
    }
  }

  test("any a, b, unit, layout and naming: the values come back within 1e-9 (property)", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 2, max: 900, noNaN: true }),
        fc.constantFrom("csv", "tsv", "markdown"),
        fc.constantFrom(...NAMINGS),
        fc.integer({ min: 1, max: 4 }),
        (a, b, layout, naming, reps) => {
          const rows = generated(a, b, reps);
          const perMs = naming.unit === "s" ? 1000 : 1;
          const t = readTable(render(layout as Layout, [naming.e2e, naming.length], rows.map((r) => [String(r.ms / perMs), String(r.n)])));
          assert.equal(t.e2e.unit, naming.unit);
          rows.forEach((r, i) => close(t.rows[i].e2eMs, r.ms));
        },
      ),
      { seed: 20240501, numRuns: 200 },
    );
  });

  test("the study's table 1: 10 rows in seconds read as ms, the server's columns as spans", () => {
    const t = readTable(SEED_TABLE, { spans: "send_request=receive,LLMServer.generate_answer=engine", ignore: ["time per token"] });
    assert.equal(t.format, "markdown");
    assert.deepEqual(
      t.rows.map((r) => r.length),
      LENGTHS,
    );
    assert.deepEqual([t.length.header, t.e2e.header, t.e2e.unit, t.e2e.from], ["output length", "get_full_res", "s", "values"]);
    close(t.rows[0].e2eMs, 68.97521018981934);
    close(t.rows[7].e2eMs, 10094.23828125);
    close(t.rows[9].e2eMs, 20219.90203857422);
    close(t.rows[9].spans.receive, 0.25200843811035156);
    close(t.rows[9].spans.engine, 20217.636108398438);
    assert.deepEqual([t.spans[0].unit, t.spans[0].from], ["s", "e2e column"]);
    assert.equal(t.rows[5].comment, "avg len");
    assert.deepEqual(t.ignored, ["time per token"]);
    assert.deepEqual(t.unused, []);
    assert.match(describeTable(t), /^Markdown table, 10 rows, 10 output lengths; .*e2e from "get_full_res" \(s, from the values: median e2e per token 0\.0422 < 1\)/);
  });

  test("the study's whole file: the table is found among the prose and the trace", () => {
    const t = readTable(SEED_FILE);
    assert.equal(t.rows.length, 10);
    assert.equal(t.rows[0].line, 7);
    assert.deepEqual(t.unused, ["send_request", "LLMServer.generate_answer", "time per token"]);
  });

  test("units: given, from the cells, quoted CSV cells, semicolons", () => {
    const given = readTable("n,time\n10,0.5\n20,0.9", { units: "s" });
    assert.deepEqual([given.e2e.unit, given.e2e.from], ["s", "given"]);
    close(given.rows[1].e2eMs, 900);
    const cells = readTable("n\tlatency\n10\t450 ms\n20\t0.9 s");
    assert.equal(cells.e2e.unit, "per cell");
    assert.deepEqual(cells.rows.map((r) => r.e2eMs), [450, 900]);
    const quoted = readTable('"output tokens","e2e (ms)","note"\n"10","450","a, b ""c"""');
    assert.deepEqual([quoted.rows[0].e2eMs, quoted.rows[0].comment], [450, 'a, b "c"']);
    assert.equal(readTable("n;e2e_ms\n3;90").rows[0].e2eMs, 90);
    const spans = readTable("n,e2e (s),queue_ms\n10,0.5,\n20,0.9,3", { spans: { queue_ms: "queue" } });
    assert.deepEqual(spans.rows.map((r) => r.spans), [{}, { queue: 3 }]);
  });

  test("a damaged table is read or refused with one TableError line, never anything else (property)", () => {
    const junk = fc.constantFrom("", "x", "1,5", "-3", "12 ms", "0.3 s", '"', "`", "|", "\t", "1e-3", "NaN");
    fc.assert(
      fc.property(fc.constantFrom("csv", "tsv", "markdown"), fc.nat(), fc.nat(), junk, (layout, row, col, cell) => {
        const rows = generated(35, 41.5, 1).map((r) => [String(r.n), String(r.ms)]);
        rows[row % rows.length][col % 2] = cell;
        try {
          readTable(render(layout as Layout, ["n", "e2e_ms"], rows));
        } catch (e) {
          assert.ok(e instanceof TableError && !e.message.includes("\n"), String(e));
        }
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  const errors: Array<[string, string, TableOptions, RegExp]> = [
    ["empty file", "  \n\n", {}, /the table is empty/],
    ["no header", "10,450\n20,900", {}, /no header: line 1 holds only numbers/],
    ["a row with too few cells", "n,e2e_ms\n10,450\n20", {}, /line 3 has 1 cells, the header \(line 1\) has 2/],
    ["a Markdown row with too many cells", "| n | e2e_ms |\n|---|---|\n| 1 | 2 | 3 |", {}, /line 3 has 3 cells/],
    ["a non-numeric length", "n,e2e_ms\n10,450\nten,900", {}, /line 3, column "n": "ten" is not a number/],
    ["a non-numeric time", "n\te2e_ms\n10\t450\n20\tfast", {}, /line 3, column "e2e_ms": "fast" is not a number/],
    ["an empty time", "n,e2e_ms\n10,\n20,900", {}, /line 2, column "e2e_ms": the cell is empty/],
    ["a decimal comma", "n;e2e_ms\n10;450,5", {}, /line 2, column "e2e_ms": "450,5" has a decimal comma/],
    ["an unknown column", "n,e2e_ms\n10,450", { e2e: "latency" }, /no column "latency" for the end-to-end time; the headers are: "n", "e2e_ms"/],
    ["no usual name", "requests,wall\n10,450", {}, /cannot decide which column is the output length: .*the headers are: "requests", "wall"/],
    ["two usual names", "n,prefill time,decode time\n1,2,3", {}, /cannot decide which column is the end-to-end time: "prefill time", "decode time" all fit/],
    ["given units against the header", "n,e2e_ms\n10,450", { units: "s" }, /units were given as s but the header "e2e_ms" says ms/],
    ["a cell unit against the header", "n,e2e_ms\n10,450\n20,0.9 s", {}, /mixed units: line 3, column "e2e_ms" is in s but the column is in ms/],
    ["cell units and bare cells", "n,e2e\n10,450 ms\n20,0.9 s\n30,1300", {}, /mixed units: column "e2e" has cells in ms and in s, and line 4 has none/],
    ["a negative time", "n,e2e_ms\n10,-4", {}, /line 2, column "e2e_ms": a negative time/],
    ["an unterminated quote", 'n,e2e_ms\n10,"450', {}, /line 2: a quoted cell has no closing quote/],
    ["a bad span mapping", "n,e2e_ms\n10,450", { spans: "queue" }, /a span mapping is header=label/],
  ];
  for (const [what, text, options, pattern] of errors) {
    test(`error: ${what}`, () => tableError(() => readTable(text, options), pattern));
  }
});

// ---- step logs ----

const level = (t: StepTrace, name: string) => {
  const l = t.levels.find((x) => x.name === name);
  assert.ok(l, `level ${name} in ${t.levels.map((x) => x.name).join(", ")}`);
  return l;
};

const meanOf = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
/** p90 of 11 values: (11 − 1) × 0.9 = 9 falls on the 10th smallest, no interpolation. */
const p90Of11 = (v: number[]): number => [...v].sort((a, b) => a - b)[9];

describe("readStepLog: the study's trace", () => {
  test("the seed's block: totals, named parts, remainders and overlaps by hand", () => {
    const t = readStepLog(SEED_TRACE);
    assert.deepEqual([t.format, t.steps, t.skipped, t.incomplete], ["study", 1, 0, 0]);
    assert.deepEqual(
      t.levels.map((l) => [l.name, l.depth, l.component, l.parts.map((p) => p.name)]),
      [
        ["e-to-e", 0, "AsyncMaster._run_workers_async", ["DecodeTime", "post_process_time"]],
        ["DecodeTime", 1, "Worker._predict", ["pre-process", "model.call"]],
        ["model.call", 2, "DisModel.call", ["get input lite", "npu_total_time"]],
        ["npu_total_time", 3, "WorkAgent.predict", ["agent pre-process", "predict", "multi_thread_post_sampling", "post_time"]],
      ],
    );
    const e2e = level(t, "e-to-e");
    close(e2e.mean, 40.23146629333496);
    close(e2e.p90, 40.23146629333496);
    close(e2e.remainder.mean, 0.3459453582763647, "40.23146629333496 − 39.5505428314209 − 0.3349781036376953");
    close(level(t, "DecodeTime").mean, 39.5505428314209);
    // 0.08249282836914062 + 39.46876525878906 exceeds 39.5505428314209: the parts overlap by 0.7 µs, reported as such, not as a negative remainder.
    close(level(t, "DecodeTime").remainder.mean, 0);
    close(level(t, "DecodeTime").overlap!.mean, 0.00071525573730062);
    close(level(t, "model.call").remainder.mean, 0.8282661437988228, "39.46876525878906 − 0.1933574676513672 − 38.44714164733887");
    const npu = level(t, "npu_total_time");
    close(npu.parts[2].mean, 3.0431747436523438);
    close(npu.remainder.mean, 0);
    close(npu.overlap!.mean, 2.1867752075195275, "11.926651000976562 + 22.455215454101562 + 3.0431747436523438 + 3.2088756561279297 − 38.44714164733887");
    assert.equal(level(t, "model.call").overlap, undefined);
  });

  test("the seed's whole file is detected as the study's trace; the prose and the table are skipped", () => {
    assert.equal(detectStepLogFormat(SEED_FILE), "study");
    const t = readStepLog(SEED_FILE);
    assert.equal(t.steps, 1);
    // The heading, 2 notes, the table's 12 lines, 2 code fences and the last note.
    assert.equal(t.skipped, 18);
    close(level(t, "e-to-e").mean, 40.23146629333496);
  });

  test("table 2 in Markdown: the level, its parts, the remainder, the overlaps said", () => {
    const md = stepTraceTable(readStepLog(SEED_TRACE));
    assert.match(md, /^\| level \| mean \| p90 \| named parts \(mean\) \| unnamed remainder: mean \| p90 \|$/m);
    assert.match(md, /^\| e-to-e \(AsyncMaster\._run_workers_async\) \| 40\.231 \| 40\.231 \| DecodeTime 39\.551, post_process_time 0\.335 \| 0\.346 \| 0\.346 \|$/m);
    assert.match(md, /^\| · · · npu_total_time \(WorkAgent\.predict\) \| 38\.447 \| 38\.447 \| .* \| parts overlap by 2\.187 ms \| {2}\|$/m);
    assert.match(md, /^npu_total_time: its named parts add up to 2\.187 ms more than it/m);
  });

  /** Eleven steps with known values; multi_thread_post_sampling lies inside post_time, as in the study. */
  function studySteps() {
    return Array.from({ length: 11 }, (_, i) => {
      const s = { pre: 0.08, getInput: 0.19 + 0.002 * i, agentPre: 11.9 + 0.01 * i, predict: 22.4 + 0.1 * ((i * 7) % 11), postTime: 3.2 + 0.02 * i, post: 0.33 + 0.003 * i };
      const r3 = 0.05 + 0.001 * i;
      const npu = s.agentPre + s.predict + s.postTime + r3;
      const r2 = 0.8 + 0.01 * (i % 3);
      const call = s.getInput + npu + r2;
      const r1 = 0.01 * i;
      const decode = s.pre + call + r1;
      const r0 = 0.3 + 0.02 * ((i * 3) % 11);
      return { ...s, multi: s.postTime - 0.16, npu, call, decode, e2e: decode + s.post + r0, r: [r0, r1, r2, r3] };
    });
  }

  function studyLog(steps: ReturnType<typeof studySteps>, indent: number, drop: (i: number, label: string) => boolean = () => false): string {
    const out: string[] = ["INFO: server starting", `{"level":30,"msg":"request completed","responseTime":41.2}`];
    steps.forEach((s, i) => {
      const line = (depth: number, label: string, v: number, form = "time is"): void => {
        if (!drop(i, label)) out.push(`${" ".repeat(depth * indent)}worker/w.py[line:${10 + depth}] - INFO: ${label} ${form ? `${form} ` : ""}${v}`);
      };
      if (i % 4 === 0) out.push("[AsyncMaster._run_workers_async -> Worker._predict -> DisModel.call -> WorkAgent.predict]");
      line(1, "pre-process", s.pre);
      line(2, "get input lite", s.getInput);
      if (i === 2) out.push("2024-05-01 12:00:00 - WARNING: cache miss for 7 blocks", "");
      line(3, "agent pre-process", s.agentPre);
      line(3, "predict", s.predict);
      line(3, "multi_thread_post_sampling", s.multi);
      line(3, "post_time", s.postTime, "is");
      line(3, "npu_total_time", s.npu, "is");
      line(2, "model.call", s.call);
      line(1, "DecodeTime", s.decode, "");
      if (i === 6) out.push("worker/m.py[line:9] - INFO: warmup finished");
      line(0, "post_process_time", s.post);
      line(0, "e-to-e", s.e2e);
    });
    return out.join("\n");
  }

  test("eleven steps with junk between them: means and p90s exact, from 2- and 4-space indentation", () => {
    const steps = studySteps();
    for (const indent of [2, 4]) {
      const t = readStepLog(studyLog(steps, indent));
      assert.deepEqual([t.format, t.steps, t.skipped, t.incomplete], ["study", 11, 4, 0]);
      const expect: Array<[string, number[], string[], number[][]]> = [
        ["e-to-e", steps.map((s) => s.e2e), ["DecodeTime", "post_process_time"], [steps.map((s) => s.decode), steps.map((s) => s.post)]],
        ["DecodeTime", steps.map((s) => s.decode), ["pre-process", "model.call"], [steps.map((s) => s.pre), steps.map((s) => s.call)]],
        ["model.call", steps.map((s) => s.call), ["get input lite", "npu_total_time"], [steps.map((s) => s.getInput), steps.map((s) => s.npu)]],
      ];
      expect.forEach(([name, totals, parts, values], d) => {
        const l = level(t, name);
        close(l.mean, meanOf(totals), `${name} mean`);
        close(l.p90, p90Of11(totals), `${name} p90`);
        assert.deepEqual(l.parts.map((p) => p.name), parts);
        l.parts.forEach((p, j) => {
          close(p.mean, meanOf(values[j]), `${p.name} mean`);
          close(p.p90, p90Of11(values[j]), `${p.name} p90`);
        });
        const r = steps.map((s) => s.r[d]);
        close(l.remainder.mean, meanOf(r), `${name} remainder mean`);
        close(l.remainder.p90, p90Of11(r), `${name} remainder p90`);
        assert.equal(l.overlap, undefined, `${name} has no overlap`);
      });
      const npu = level(t, "npu_total_time");
      const overlap = steps.map((s) => s.multi - s.r[3]);
      assert.equal(npu.remainder.mean, 0);
      assert.equal(npu.overlap!.steps, 11);
      close(npu.overlap!.mean, meanOf(overlap));
      close(npu.overlap!.p90, p90Of11(overlap));
    }
  });

  test("values missing in some steps: the steps stay apart, and what is missing is left out", () => {
    const steps = studySteps();
    const t = readStepLog(studyLog(steps, 2, (i, label) => (i === 3 && label === "post_time") || (i === 6 && label === "e-to-e")));
    assert.deepEqual([t.steps, t.incomplete], [11, 2]);
    const e2e = level(t, "e-to-e");
    assert.equal(e2e.count, 10);
    close(e2e.mean, meanOf(steps.filter((_, i) => i !== 6).map((s) => s.e2e)));
    assert.ok(Number.isNaN(e2e.values[6]));
    assert.equal(level(t, "npu_total_time").remainder.count, 10);
    close(level(t, "model.call").mean, meanOf(steps.map((s) => s.call)));
  });
});

describe("readStepLog: llm-serving's own debug log", () => {
  const SPAN_MS = (i: number): number[] => [0.007, 0.006 + 0.001 * (i % 2), 0.091, 15.2 + 0.1 * i, 0.428, 0.051 + 0.002 * i, 0.004];

  /** A StepRecord whose spans are SPAN_MS(i) (STEP_SPANS order); step 0 carries a prompt. */
  function fakeStep(i: number): StepRecord {
    const marks = new Marks(STEP_POINTS.length);
    let t = 1000 + 100 * i;
    marks.set(StepPoint.step_start, t);
    SPAN_MS(i).forEach((ms, j) => marks.set(StepPoint[STEP_SPANS[j].to], (t += ms)));
    return { id: i + 1, marks, gap: i === 0 ? NaN : 0.02, decodes: 1, rows: [{ requestId: "r1", kind: i === 0 ? "prefill" : "decode", tokens: i === 0 ? 12 : 1, position: i === 0 ? 0 : 11 + i }], waiting: 0 };
  }

  const log = (): string =>
    Array.from({ length: 11 }, (_, i) => [stepLogTree(fakeStep(i), undefined), ...(i % 3 === 0 ? [`{"level":30,"reqId":"r${i}","msg":"request completed"}`, "warning: slow disk"] : [])].join("\n")).join("\n");

  test("every STEP_TREE level with children, its parts and a zero remainder", () => {
    const t = readStepLog(log());
    assert.deepEqual([t.format, t.steps, t.skipped, t.incomplete, t.kinds], ["llm-serving", 11, 8, 0, { decode: 10, prefill: 1 }]);
    const withParts = STEP_TREE.filter((l, i) => STEP_TREE[i + 1]?.depth === l.depth + 1);
    assert.deepEqual(t.levels.map((l) => [l.name, l.depth]), withParts.map((l) => [l.name, l.depth]));
    for (const node of STEP_TREE) {
      const per = Array.from({ length: 11 }, (_, i) => node.spans.reduce((a, s) => a + SPAN_MS(i)[STEP_SPANS.findIndex((x) => x.name === s)], 0));
      const found = t.levels.find((l) => l.name === node.name) ?? t.levels.flatMap((l) => l.parts).find((p) => p.name === node.name)!;
      close(found.mean, meanOf(per), `${node.name} mean`);
      close(found.p90, p90Of11(per), `${node.name} p90`);
    }
    for (const l of t.levels) {
      assert.equal(l.remainder.mean, 0, `${l.name}: its parts are its spans`);
      assert.equal(l.overlap, undefined);
    }
    assert.deepEqual(level(t, "master.step").parts.map((p) => p.name), ["master.schedule", "worker.run", "master.postprocess", "master.deliver"]);
    const gap = t.extras.find((e) => e.name.startsWith("gap"))!;
    assert.equal(gap.count, 10);
    close(gap.mean, 0.02);
  });

  test("decode steps only; a header with GC and loop stall; a level line outside a step is skipped", () => {
    assert.equal(readStepLog(log(), undefined, { only: "decode" }).steps, 10);
    const text = ["  master.step 1.000 ms", "[step 99] rows=2 requests=a,b(prefill 7) gap - ms, gc 1.250 ms, loop stall 2.000 ms", "  master.step 3.000 ms", "    master.schedule 1.000 ms", "    worker.run - ms"].join("\n");
    const t = readStepLog(text, "llm-serving");
    assert.deepEqual([t.steps, t.skipped, t.incomplete, t.kinds], [1, 1, 1, { decode: 0, prefill: 1 }]);
    assert.deepEqual(t.extras.map((e) => [e.name, e.mean]), [["gap (between two steps)", NaN], ["gc", 1.25], ["loop stall", 2]]);
    assert.equal(level(t, "master.step").remainder.count, 0);
  });

  test("format detection: ours, neither, both; a named format with no step", () => {
    assert.equal(detectStepLogFormat(log()), "llm-serving");
    const error = (f: () => unknown, re: RegExp): void =>
      assert.throws(f, (e: unknown) => e instanceof StepLogError && re.test(e.message) && !e.message.includes("\n"));
    error(() => readStepLog("hello\nworld"), /no step timing found: expected lines like/);
    error(() => readStepLog(`${SEED_TRACE}\n${log()}`), /the log has lines of both formats \(11 like .*, 11 like/);
    error(() => readStepLog(SEED_TRACE, "llm-serving"), /no step found in the llm-serving format/);
  });
});
