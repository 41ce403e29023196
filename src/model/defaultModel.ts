/**
 * The built-in default model: a synthetic model made on first use into the
 * cache folder (git-ignored), always the same bytes. LLM_SERVING_CACHE moves the folder.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assertGgufFile, ModelFileError } from "./ggufFile.js";
import { makeFolder } from "./makeFolder.js";
import { makeModel, type MakeModelOptions } from "./SyntheticModel.js";

export const DEFAULT_MODEL: Omit<MakeModelOptions, "out"> = { preset: "small", dtype: "Q8_0", seed: 0 };

/** The package root: this file is dist/src/model/defaultModel.js. */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function cacheDir(): string {
  return process.env.LLM_SERVING_CACHE ? resolve(process.env.LLM_SERVING_CACHE) : join(packageRoot, ".cache");
}

/** Where a synthetic model with these options lives in the cache. */
export function syntheticModelPath(o: Omit<MakeModelOptions, "out">): string {
  return join(cacheDir(), "models", `synthetic-${o.preset}-${o.dtype}-seed${o.seed}.gguf`);
}

export function defaultModelPath(): string {
  return syntheticModelPath(DEFAULT_MODEL);
}

/**
 * Makes the synthetic model in the cache unless a sound one is already
 * there (a damaged one is made again: the cache is ours); returns its path.
 */
export async function ensureSyntheticModel(o: Omit<MakeModelOptions, "out">, onMake?: (path: string) => void): Promise<string> {
  const path = syntheticModelPath(o);
  if (await isSoundGguf(path)) return path;
  await makeCacheFolder(dirname(path));
  onMake?.(path);
  await makeModel({ ...o, out: path });
  return path;
}

export function ensureDefaultModel(onMake?: (path: string) => void): Promise<string> {
  return ensureSyntheticModel(DEFAULT_MODEL, onMake);
}

async function isSoundGguf(path: string): Promise<boolean> {
  try {
    await assertGgufFile(path);
    return true;
  } catch (err) {
    if (err instanceof ModelFileError) return false;
    throw err;
  }
}

async function makeCacheFolder(folder: string): Promise<void> {
  try {
    await makeFolder(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === undefined) throw err;
    throw new ModelFileError(`cannot create the model cache folder ${folder}: ${(err as Error).message} (set LLM_SERVING_CACHE to a writable folder)`);
  }
}
