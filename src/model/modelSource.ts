/** Which model to serve: the GGUF file a user names, or the built-in default (made on first use). */
import { ensureDefaultModel } from "./defaultModel.js";
import { assertGgufFile } from "./ggufFile.js";

export async function resolveModelPath(path: string | undefined, log: (line: string) => void): Promise<string> {
  if (path) {
    await assertGgufFile(path);
    return path;
  }
  return ensureDefaultModel((p) => log(`making the built-in default model (first use): ${p}`));
}
