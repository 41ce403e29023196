/**
 * llama.cpp's own server and bench, built once from the source node-llama-cpp
 * ships (node_modules/node-llama-cpp/llama/gitRelease.bundle), so that the
 * side-by-side runs the same llama.cpp release as our engine. CPU, Release,
 * into a per-user cache outside the clone (keyed by the release), so that a
 * fresh clone reuses it; ~10 min on 2 cores the first time. Nothing built is
 * committed.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import { makeFolder } from "../model/makeFolder.js";

const run = promisify(execFile);

/** node-llama-cpp's llama folder: this file is dist/src/bench/llamaCppBuild.js. */
const llamaDir = fileURLToPath(new URL("../../../node_modules/node-llama-cpp/llama/", import.meta.url));

export interface LlamaCppBuild {
  tag: string;
  server: string;
  bench: string;
}

function llamaCppTag(): string {
  return (JSON.parse(readFileSync(join(llamaDir, "llama.cpp.info.json"), "utf8")) as { tag: string }).tag;
}

function cacheRoot(): string {
  return process.env.LLM_SERVING_LLAMA_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "llm-serving");
}

async function have(command: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${command}`]).then(
    () => true,
    () => false,
  );
}

/** Runs a build step with its output in a log file; a failure names the log. */
function step(command: string, args: string[], cwd: string, log: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", `"$0" "$@" >> '${log}' 2>&1`, command, ...args], { cwd, stdio: "ignore" });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} failed (exit ${code}); see ${log}`))));
    child.on("error", reject);
  });
}

function buildPaths(): LlamaCppBuild & { root: string } {
  const tag = llamaCppTag();
  const root = join(cacheRoot(), `llama.cpp-${tag}`);
  const bin = join(root, "build", "bin");
  return { tag, root, server: join(bin, "llama-server"), bench: join(bin, "llama-bench") };
}

/** The build, if it has been made (the tests that need llama-server use it; .ci/run makes it). */
export function findLlamaCppBuild(): LlamaCppBuild | undefined {
  const { root: _root, ...built } = buildPaths();
  return existsSync(built.server) && existsSync(built.bench) ? built : undefined;
}

export async function ensureLlamaCppBuild(say: (line: string) => void): Promise<LlamaCppBuild> {
  const found = findLlamaCppBuild();
  if (found) return found;
  const { root, ...built } = buildPaths();
  const tag = built.tag;
  if (!(await have("cmake")) || !(await have("g++"))) {
    say("installing cmake and g++ (apt-get)");
    await run("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make git >/dev/null"]);
  }
  say(`building llama-server and llama-bench ${tag} from node-llama-cpp's bundled source into ${root} (once; ~10 min on 2 cores)`);
  await rm(root, { recursive: true, force: true });
  await makeFolder(root);
  const log = join(root, "build.log");
  await step("git", ["clone", "-q", join(llamaDir, "gitRelease.bundle"), "src"], root, log);
  const options = ["-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_OPENSSL=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TOOLS=ON"];
  await step("cmake", ["-S", "src", "-B", "build", ...options], root, log);
  await step("cmake", ["--build", "build", "--target", "llama-server", "llama-bench", "-j", "2"], root, log);
  return built;
}

// `node dist/src/bench/llamaCppBuild.js` (npm run build:llama-server): builds it if it is not there yet.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  ensureLlamaCppBuild((line) => process.stderr.write(`llama.cpp: ${line}\n`)).then(
    (b) => process.stderr.write(`llama.cpp: llama-server ${b.tag} is at ${b.server}\n`),
    (err: Error) => {
      process.stderr.write(`llama.cpp: ${err.message}\n`);
      process.exit(1);
    },
  );
}
