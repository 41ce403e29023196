/**
 * Where the model runs: `--gpu auto|cuda|vulkan|off`, `--gpu-layers`, their
 * config keys, the one line `--gpu cuda|vulkan` prints when its build cannot
 * be used, and what the start line and GET /info say. Written for the default
 * install (no optional GPU packages) on a machine without a GPU, as the tests
 * run here; the CLI tests that assume it are skipped where it does not hold.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { describePlacement, GPU_CHOICES, gpuPackages, gpuUnavailableReason, isGpuChoice, parseGpuLayers, type Placement } from "../src/agent/gpu.js";
import { PRESETS } from "../src/model/presets.js";
import { ConfigError, parseConfig } from "../src/server/config/configFile.js";
import { DEFAULT_CONFIG, mergeConfig } from "../src/server/config/ServeConfig.js";
import { runCli, type CliOutcome } from "./helpers/cli.js";
import { startCliServer } from "./helpers/cliServer.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

/** The repository's root, from the compiled test (dist*\/test/). */
const ROOT = join(import.meta.dirname, "..", "..");
/** llama.cpp counts the output layer as a layer: the tiny preset's blocks + 1. */
const TINY_LAYERS = PRESETS.tiny.blockCount + 1;

/** Runs `fn` as if on `platform`-`arch` (gpuUnavailableReason reads process.platform and process.arch). */
function onPlatform<T>(platform: string, arch: string, fn: () => T): T {
  const saved = [Object.getOwnPropertyDescriptor(process, "platform")!, Object.getOwnPropertyDescriptor(process, "arch")!] as const;
  Object.defineProperty(process, "platform", { ...saved[0], value: platform });
  Object.defineProperty(process, "arch", { ...saved[1], value: arch });
  try {
    return fn();
  } finally {
    Object.defineProperty(process, "platform", saved[0]);
    Object.defineProperty(process, "arch", saved[1]);
  }
}

/** An `isInstalled` that says yes to `installed` only, and remembers what it was asked. */
function packagesInstalled(...installed: string[]): { isInstalled: (name: string) => boolean; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    isInstalled: (name) => {
      asked.push(name);
      return installed.includes(name);
    },
  };
}

describe("GPU choices", () => {
  test("--gpu takes auto, cuda, vulkan and off, exactly", () => {
    assert.deepEqual([...GPU_CHOICES], ["auto", "cuda", "vulkan", "off"]);
    for (const choice of GPU_CHOICES) assert.equal(isGpuChoice(choice), true, choice);
    for (const other of ["", "CUDA", "Vulkan", "metal", "gpu", "cpu", "none", "on", " auto", "auto "]) assert.equal(isGpuChoice(other), false, JSON.stringify(other));
    assert.equal(DEFAULT_CONFIG.gpu, "auto", "auto is the default");
    assert.equal(DEFAULT_CONFIG.gpuLayers, "auto");
  });

  test("--gpu-layers takes auto, max or a whole number", () => {
    assert.equal(parseGpuLayers("auto"), "auto");
    assert.equal(parseGpuLayers("max"), "max");
    assert.equal(parseGpuLayers("0"), 0);
    assert.equal(parseGpuLayers("33"), 33);
    assert.equal(parseGpuLayers("007"), 7);
    for (const bad of ["", "all", "MAX", "Auto", "-1", "1.5", "1e3", "0x10", " 3", "3 ", "+3", "Infinity", "NaN"]) {
      assert.equal(parseGpuLayers(bad), undefined, JSON.stringify(bad));
    }
  });

  test("gpuPackages names node-llama-cpp's prebuilt GPU packages for Linux and Windows x64, and none elsewhere", () => {
    assert.deepEqual(gpuPackages("cuda", "linux", "x64"), ["@node-llama-cpp/linux-x64-cuda", "@node-llama-cpp/linux-x64-cuda-ext"]);
    assert.deepEqual(gpuPackages("vulkan", "linux", "x64"), ["@node-llama-cpp/linux-x64-vulkan"]);
    assert.deepEqual(gpuPackages("cuda", "win32", "x64"), ["@node-llama-cpp/win-x64-cuda", "@node-llama-cpp/win-x64-cuda-ext"]);
    assert.deepEqual(gpuPackages("vulkan", "win32", "x64"), ["@node-llama-cpp/win-x64-vulkan"]);
    for (const [platform, arch] of [["linux", "arm64"], ["linux", "arm"], ["win32", "arm64"], ["darwin", "arm64"], ["darwin", "x64"], ["freebsd", "x64"]]) {
      assert.deepEqual(gpuPackages("cuda", platform, arch), [], `${platform}-${arch} cuda`);
      assert.deepEqual(gpuPackages("vulkan", platform, arch), [], `${platform}-${arch} vulkan`);
    }
    assert.deepEqual(gpuPackages("cuda"), gpuPackages("cuda", process.platform, process.arch), "this machine by default");
  });

  test("every package gpuPackages names is one of node-llama-cpp's optional dependencies in the lock file, at its version", async () => {
    const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string; optional?: boolean; optionalDependencies?: Record<string, string> }> };
    const nodeLlamaCpp = lock.packages["node_modules/node-llama-cpp"];
    assert.ok(nodeLlamaCpp, "node-llama-cpp is in the lock file");
    const names = [...gpuPackages("cuda", "linux", "x64"), ...gpuPackages("vulkan", "linux", "x64"), ...gpuPackages("cuda", "win32", "x64"), ...gpuPackages("vulkan", "win32", "x64")];
    assert.equal(names.length, 6);
    for (const name of names) {
      assert.equal(nodeLlamaCpp.optionalDependencies?.[name], nodeLlamaCpp.version, `${name} is pinned to node-llama-cpp's version`);
      const entry = lock.packages[`node_modules/${name}`];
      assert.ok(entry, `${name} is locked (npm ci --include=optional installs it)`);
      assert.equal(entry.version, nodeLlamaCpp.version, name);
      assert.equal(entry.optional, true, `${name} is optional (a plain npm ci leaves it out)`);
    }
  });
});

describe("why --gpu cuda|vulkan cannot be used", () => {
  test("the package is not installed: names it and says npm ci --include=optional", () => {
    for (const [gpu, label, first, all] of [
      ["cuda", "CUDA", "@node-llama-cpp/linux-x64-cuda", ["@node-llama-cpp/linux-x64-cuda", "@node-llama-cpp/linux-x64-cuda-ext"]],
      ["vulkan", "Vulkan", "@node-llama-cpp/linux-x64-vulkan", ["@node-llama-cpp/linux-x64-vulkan"]],
    ] as const) {
      const probe = packagesInstalled();
      const reason = onPlatform("linux", "x64", () => gpuUnavailableReason(gpu, probe.isInstalled));
      assert.equal(reason, `--gpu ${gpu}: node-llama-cpp's ${label} build is not installed (${first}); install it with npm ci --include=optional, or use --gpu auto or off`);
      assert.deepEqual(probe.asked, all, "every package of the build was looked for");
    }
    const windows = onPlatform("win32", "x64", () => gpuUnavailableReason("cuda", () => false));
    assert.match(windows, /build is not installed \(@node-llama-cpp\/win-x64-cuda\); install it with npm ci --include=optional/);
  });

  test("the package is installed but does not load: says what the machine needs", () => {
    const cuda = "--gpu cuda: the CUDA build of llama.cpp is installed but does not load on this machine (it needs an NVIDIA driver and the CUDA runtime); use --gpu auto or off";
    assert.equal(onPlatform("linux", "x64", () => gpuUnavailableReason("cuda", packagesInstalled("@node-llama-cpp/linux-x64-cuda").isInstalled)), cuda);
    assert.equal(onPlatform("linux", "x64", () => gpuUnavailableReason("cuda", packagesInstalled("@node-llama-cpp/linux-x64-cuda-ext").isInstalled)), cuda, "either CUDA package is the build");
    assert.equal(
      onPlatform("linux", "x64", () => gpuUnavailableReason("vulkan", packagesInstalled("@node-llama-cpp/linux-x64-vulkan").isInstalled)),
      "--gpu vulkan: the Vulkan build of llama.cpp is installed but does not load on this machine (it needs a Vulkan driver); use --gpu auto or off",
    );
    // The other GPU's package does not count.
    assert.match(onPlatform("linux", "x64", () => gpuUnavailableReason("vulkan", packagesInstalled("@node-llama-cpp/linux-x64-cuda").isInstalled)), /Vulkan build is not installed/);
  });

  test("no prebuilt build for the platform: says so and looks for no package", () => {
    for (const [platform, arch] of [["darwin", "arm64"], ["linux", "arm64"]]) {
      for (const [gpu, label] of [["cuda", "CUDA"], ["vulkan", "Vulkan"]] as const) {
        const probe = packagesInstalled();
        assert.equal(
          onPlatform(platform, arch, () => gpuUnavailableReason(gpu, probe.isInstalled)),
          `--gpu ${gpu}: node-llama-cpp has no prebuilt ${label} build for ${platform}-${arch}; use --gpu auto or off`,
        );
        assert.deepEqual(probe.asked, []);
      }
    }
  });
});

describe("where the model runs, in one line", () => {
  const placement = (p: Partial<Placement>): Placement => ({ backend: "cpu", devices: [], gpuLayers: 0, totalLayers: 9, ...p });

  test("on the CPU, and on a GPU with its devices and layers", () => {
    assert.equal(describePlacement(placement({})), "llama.cpp on the CPU (0 of 9 layers on a GPU)");
    assert.equal(describePlacement(placement({ totalLayers: 33 })), "llama.cpp on the CPU (0 of 33 layers on a GPU)");
    assert.equal(describePlacement(placement({ backend: "cuda", devices: ["NVIDIA L4"], gpuLayers: 33, totalLayers: 33 })), "llama.cpp on CUDA (NVIDIA L4), 33 of 33 layers on the GPU");
    assert.equal(
      describePlacement(placement({ backend: "vulkan", devices: ["AMD Radeon RX 7900", "llvmpipe"], gpuLayers: 20, totalLayers: 33 })),
      "llama.cpp on Vulkan (AMD Radeon RX 7900, llvmpipe), 20 of 33 layers on the GPU",
    );
    assert.equal(describePlacement(placement({ backend: "metal", devices: [], gpuLayers: 0, totalLayers: 9 })), "llama.cpp on Metal, 0 of 9 layers on the GPU", "no device names: no parentheses");
  });
});

describe("config file: model_config.gpu and gpu_layers", () => {
  test("parse, default to auto, and are overridden by the flags", () => {
    const { config, warnings } = parseConfig("model_config:\n  gpu: cuda\n  gpu_layers: 20\n");
    assert.deepEqual(warnings, []);
    assert.equal(config.gpu, "cuda");
    assert.equal(config.gpuLayers, 20);
    assert.equal(mergeConfig(config, {}).gpu, "cuda");
    assert.equal(mergeConfig(config, { gpu: "off", gpuLayers: "max" }).gpu, "off", "--gpu overrides the file");
    assert.equal(mergeConfig(config, { gpu: "off", gpuLayers: "max" }).gpuLayers, "max", "--gpu-layers overrides the file");
    assert.equal(mergeConfig(config, { gpu: undefined, gpuLayers: undefined }).gpuLayers, 20, "a flag left unset does not override");
    for (const gpu of GPU_CHOICES) assert.equal(parseConfig(`model_config:\n  gpu: ${gpu}\n`).config.gpu, gpu, `unquoted ${gpu} (YAML 1.2: off is a string)`);
    for (const [yaml, layers] of [["auto", "auto"], ["max", "max"], ["0", 0], ["99", 99]] as const) assert.equal(parseConfig(`model_config:\n  gpu_layers: ${yaml}\n`).config.gpuLayers, layers, yaml);
    const none = mergeConfig(parseConfig("model_config:\n  threads: 2\n").config, {});
    assert.equal(none.gpu, "auto");
    assert.equal(none.gpuLayers, "auto");
  });

  test("a bad value is a ConfigError naming the key", () => {
    const expected = GPU_CHOICES.map((c) => `"${c}"`).join("|");
    for (const gpu of ["metal", "CUDA", "true", "1", "[cuda]"]) {
      assert.throws(
        () => parseConfig(`model_config:\n  gpu: ${gpu}\n`),
        (e: Error) => e instanceof ConfigError && e.message.includes("model_config.gpu:") && e.message.includes(expected),
        gpu,
      );
    }
    for (const layers of ["-1", "1.5", "all", '"12"', "true"]) {
      assert.throws(() => parseConfig(`model_config:\n  gpu_layers: ${layers}\n`), (e: Error) => e instanceof ConfigError && e.message.includes("model_config.gpu_layers:"), layers);
    }
  });

  test("a bad gpu_layers value says what is allowed, as --gpu-layers does", () => {
    assert.throws(() => parseConfig("model_config:\n  gpu_layers: all\n"), (e: Error) => e instanceof ConfigError && /auto.*max.*(whole|integer|number)/.test(e.message));
  });
});

/** The default install: this platform has prebuilt GPU builds, and none of them is installed. */
const resolvable = (name: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
};
const defaultInstall = process.platform === "linux" && process.arch === "x64" && ![...gpuPackages("cuda"), ...gpuPackages("vulkan")].some(resolvable);
const needsDefaultInstall = defaultInstall ? {} : { skip: "needs Linux x64 without node-llama-cpp's optional GPU packages (the default npm ci)" };

/** Exit code 1 of its own (not killed), nothing on stdout (fastify logs "Server listening" there), and exactly `line` on stderr. */
function assertFailedBeforeListening(o: CliOutcome, line: string): void {
  assert.equal(o.signal, null, `it ended by itself; stderr: ${o.stderr}`);
  assert.equal(o.code, 1);
  assert.equal(o.stderr, `${line}\n`, "exactly one line on stderr");
  assert.equal(o.stdout, "", "it never listened");
  assert.ok(o.ms < 15_000, `it fails at once (${Math.round(o.ms)} ms)`);
}

describe("serve --gpu through the CLI", () => {
  let dir = "";
  let model = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "llm-serving-gpu-"));
    model = await tinyModelPath();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("--gpu cuda and --gpu vulkan without their packages: one line naming the package and npm ci --include=optional, before listening", needsDefaultInstall, async () => {
    for (const [gpu, label, pkg] of [
      ["cuda", "CUDA", "@node-llama-cpp/linux-x64-cuda"],
      ["vulkan", "Vulkan", "@node-llama-cpp/linux-x64-vulkan"],
    ] as const) {
      const o = await runCli(["serve", "--model", model, "--port", "0", "--gpu", gpu]);
      assertFailedBeforeListening(o, `error: --gpu ${gpu}: node-llama-cpp's ${label} build is not installed (${pkg}); install it with npm ci --include=optional, or use --gpu auto or off`);
    }
  });

  test("model_config.gpu: vulkan in the config file fails the same way", needsDefaultInstall, async () => {
    const config = join(dir, "vulkan.yaml");
    await writeFile(config, `model_config:\n  model_path: ${JSON.stringify(model)}\n  gpu: vulkan\nserving_config:\n  server_port: 0\n`);
    const o = await runCli(["serve", "--config", config]);
    assertFailedBeforeListening(o, "error: --gpu vulkan: node-llama-cpp's Vulkan build is not installed (@node-llama-cpp/linux-x64-vulkan); install it with npm ci --include=optional, or use --gpu auto or off");
  });

  // A stand-in for an installed build that does not load (no driver): a package of that name, published as node-llama-cpp
  // publishes it (exports "." only, so its package.json is not resolvable), found through NODE_PATH by our check but not
  // by node-llama-cpp's import().
  test(
    "--gpu cuda with the package installed but not loading: one line saying so, before listening",
    needsDefaultInstall,
    async () => {
      const stand = join(dir, "node_modules", "@node-llama-cpp", "linux-x64-cuda");
      await mkdir(join(stand, "dist"), { recursive: true });
      const exports = { ".": { import: "./dist/index.js", node: "./dist/index.js", default: "./dist/index.js" } };
      await writeFile(join(stand, "package.json"), JSON.stringify({ name: "@node-llama-cpp/linux-x64-cuda", version: "0.0.0", type: "module", main: "dist/index.js", exports }));
      await writeFile(join(stand, "dist", "index.js"), "export {};\n");
      const o = await runCli(["serve", "--model", model, "--port", "0", "--gpu", "cuda"], { env: { ...process.env, NODE_PATH: join(dir, "node_modules") } });
      assertFailedBeforeListening(
        o,
        "error: --gpu cuda: the CUDA build of llama.cpp is installed but does not load on this machine (it needs an NVIDIA driver and the CUDA runtime); use --gpu auto or off",
      );
    },
  );

  test("--gpu bogus and --gpu-layers all are clear errors", async () => {
    const gpu = await runCli(["serve", "--model", model, "--port", "0", "--gpu", "bogus"]);
    assert.equal(gpu.signal, null);
    assert.equal(gpu.code, 1);
    assert.equal(gpu.stderr.split("\n")[0], `error: option '--gpu <auto|cuda|vulkan|off>' argument 'bogus' is invalid. --gpu must be auto, cuda, vulkan, off, got "bogus"`);
    assert.match(gpu.stderr, /\nUsage: llm-serving serve /, "commander's help after the error");
    assert.equal(gpu.stdout, "", "it never listened");
    const layers = await runCli(["serve", "--model", model, "--port", "0", "--gpu-layers", "all"]);
    assert.equal(layers.code, 1);
    assert.equal(layers.stderr.split("\n")[0], `error: option '--gpu-layers <auto|max|n>' argument 'all' is invalid. --gpu-layers must be auto, max or a whole number, got "all"`);
    assert.equal(layers.stdout, "");
  });

  for (const args of [["--gpu", "auto"], ["--gpu", "off", "--gpu-layers", "max"]]) {
    test(`serve ${args.join(" ")} on this CPU machine runs on the CPU and says so, at start and in /info`, async () => {
      const server = await startCliServer(args);
      try {
        const engineLines = server.stderr().split("\n").filter((line) => line.startsWith("engine: "));
        assert.deepEqual(engineLines, [`engine: llama.cpp on the CPU (0 of ${TINY_LAYERS} layers on a GPU)`], server.stderr());
        const res = await fetch(`${server.url}/info`);
        assert.equal(res.status, 200);
        const info = (await res.json()) as Record<string, unknown>;
        assert.deepEqual(
          { model_device_type: info.model_device_type, gpu_backend: info.gpu_backend, gpu_devices: info.gpu_devices, gpu_layers: info.gpu_layers, model_layers: info.model_layers },
          { model_device_type: "cpu", gpu_backend: null, gpu_devices: [], gpu_layers: 0, model_layers: TINY_LAYERS },
        );
      } finally {
        server.stop();
        await server.exited;
      }
    });
  }
});
