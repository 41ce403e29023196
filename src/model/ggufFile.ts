/**
 * Checks that a file a user names is a GGUF model llama.cpp will read,
 * before llama.cpp (or node-llama-cpp's GGUF reader, which can spin on a
 * corrupt file until the heap runs out) gets it, for a clear error.
 */
import { open, stat, type FileHandle } from "node:fs/promises";
import { GgufFormatError } from "./gguf/GgufFormatError.js";
import { validateGguf, type GgufSummary } from "./gguf/GgufValidation.js";

export class ModelFileError extends Error {
  override name = "ModelFileError";
}

/** Throws ModelFileError naming the file and what is wrong with it; returns what the header holds. */
export async function assertGgufFile(path: string): Promise<GgufSummary> {
  // stat before open: opening a FIFO for reading would wait for a writer.
  const info = await stat(path).catch((err: unknown) => {
    throw ioError(path, "open", err);
  });
  if (info.isDirectory()) throw new ModelFileError(`${path} is a folder, not a GGUF model file`);
  if (!info.isFile()) throw new ModelFileError(`${path} is not a regular file, so not a GGUF model file`);
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch (err) {
    throw ioError(path, "open", err);
  }
  try {
    return await validateGguf((buffer, offset, length, position) => file.read(buffer, offset, length, position), info.size);
  } catch (err) {
    throw describe(path, err);
  } finally {
    await file.close();
  }
}

/** An I/O error (it has a code) as a one-line ModelFileError; anything else is a bug and stays as it is. */
function ioError(path: string, doing: "open" | "read", err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return err;
  return new ModelFileError(`cannot ${doing} model ${path}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`);
}

/** Format problems and I/O errors become one-line ModelFileErrors; anything else is a bug and stays as it is. */
function describe(path: string, err: unknown): unknown {
  if (err instanceof GgufFormatError) {
    switch (err.problem) {
      case "magic":
        return new ModelFileError(`${path} is not a GGUF model file (${err.message})`);
      case "version":
        return new ModelFileError(`${path} is ${err.message}; llama.cpp reads versions 2 and 3`);
      case "format":
        return new ModelFileError(`${path} is not a valid GGUF file: ${err.message}`);
    }
  }
  return ioError(path, "read", err);
}
