/**
 * Which llama.cpp build runs the model: CPU, CUDA or Vulkan. node-llama-cpp
 * ships each as a prebuilt optional package; the CPU one is always installed,
 * the GPU ones only with `npm ci --include=optional` (see README, "GPU").
 * "auto" takes the best build that loads on this machine and falls back to
 * the CPU; "cuda" and "vulkan" fail when theirs does not load.
 */
import { createRequire } from "node:module";

export const GPU_CHOICES = ["auto", "cuda", "vulkan", "off"] as const;
export type GpuChoice = (typeof GPU_CHOICES)[number];

export function isGpuChoice(value: string): value is GpuChoice {
  return (GPU_CHOICES as readonly string[]).includes(value);
}

/** How many of the model's layers go to the GPU: as many as fit ("auto"), all ("max"), or a count. */
export type GpuLayers = "auto" | "max" | number;

export function parseGpuLayers(value: string): GpuLayers | undefined {
  if (value === "auto" || value === "max") return value;
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The backend a loaded runtime uses, as node-llama-cpp names it; "cpu" for none. */
export type Backend = "cuda" | "vulkan" | "metal" | "cpu";

/** Where the model runs, said at start and in /info. */
export interface Placement {
  backend: Backend;
  /** The GPU devices llama.cpp sees (empty on the CPU). */
  devices: string[];
  gpuLayers: number;
  totalLayers: number;
}

export class GpuUnavailableError extends Error {
  override name = "GpuUnavailableError";

  /** node-llama-cpp's own error, shown with --debug (not a `cause`: its message, "NoBinaryFoundError", would only add noise to the line). */
  constructor(
    message: string,
    readonly loadError?: unknown,
  ) {
    super(message);
  }
}

const LABEL: Record<Backend, string> = { cuda: "CUDA", vulkan: "Vulkan", metal: "Metal", cpu: "CPU" };

/** node-llama-cpp's prebuilt packages for this GPU on this platform (CUDA has a second, "-ext" one). */
export function gpuPackages(gpu: "cuda" | "vulkan", platform: string = process.platform, arch: string = process.arch): string[] {
  const os = platform === "win32" ? "win" : platform;
  if ((os !== "linux" && os !== "win") || arch !== "x64") return [];
  const base = `@node-llama-cpp/${os}-${arch}-${gpu}`;
  return gpu === "cuda" ? [base, `${base}-ext`] : [base];
}

const require = createRequire(import.meta.url);

/** The prebuilt packages export only their main entry (not package.json), so the name itself is what resolves. */
function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Why `--gpu cuda|vulkan` found no build that loads, in one line a user can act on. */
export function gpuUnavailableReason(gpu: "cuda" | "vulkan", isInstalled: (name: string) => boolean = installed): string {
  const packages = gpuPackages(gpu);
  const label = LABEL[gpu];
  if (packages.length === 0) return `--gpu ${gpu}: node-llama-cpp has no prebuilt ${label} build for ${process.platform}-${process.arch}; use --gpu auto or off`;
  if (!packages.some(isInstalled)) {
    return `--gpu ${gpu}: node-llama-cpp's ${label} build is not installed (${packages[0]}); install it with npm ci --include=optional, or use --gpu auto or off`;
  }
  const needs = gpu === "cuda" ? "an NVIDIA driver and the CUDA runtime" : "a Vulkan driver";
  return `--gpu ${gpu}: the ${label} build of llama.cpp is installed but does not load on this machine (it needs ${needs}); use --gpu auto or off`;
}

/** E.g. "llama.cpp on the CPU (0 of 9 layers on a GPU)", "llama.cpp on CUDA (NVIDIA L4), 33 of 33 layers on the GPU". */
export function describePlacement(p: Placement): string {
  if (p.backend === "cpu") return `llama.cpp on the CPU (0 of ${p.totalLayers} layers on a GPU)`;
  const devices = p.devices.length > 0 ? ` (${p.devices.join(", ")})` : "";
  return `llama.cpp on ${LABEL[p.backend]}${devices}, ${p.gpuLayers} of ${p.totalLayers} layers on the GPU`;
}
