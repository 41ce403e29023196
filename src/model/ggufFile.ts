/** Checks that a file a user names is a GGUF model before llama.cpp gets it, for a clear error. */
import { open } from "node:fs/promises";
import { GGUF_MAGIC } from "./gguf/GgufHeader.js";

export class ModelFileError extends Error {
  override name = "ModelFileError";
}

export async function assertGgufFile(path: string): Promise<void> {
  let file;
  try {
    file = await open(path, "r");
  } catch (err) {
    throw new ModelFileError(`cannot open model ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  try {
    const header = Buffer.alloc(8);
    const { bytesRead } = await file.read(header, 0, 8, 0);
    if (bytesRead < 8 || header.readUInt32LE(0) !== GGUF_MAGIC) throw new ModelFileError(`${path} is not a GGUF model file (no GGUF magic at its start)`);
    const version = header.readUInt32LE(4);
    if (version < 2 || version > 3) throw new ModelFileError(`${path} is GGUF version ${version}; llama.cpp reads versions 2 and 3`);
  } finally {
    await file.close();
  }
}
