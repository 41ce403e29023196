/**
 * Makes a folder and its missing parents, one level at a time. Node's
 * recursive mkdir (sync or async) loops forever when making a level fails
 * with ENOENT although its parent exists, as under /proc; this walk is
 * bounded by the depth of the path and reports the first failure.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";

export async function makeFolder(path: string): Promise<void> {
  const missing: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    const kind = await kindOf(p);
    if (kind === "folder") break;
    if (kind === "other") throw Object.assign(new Error(`ENOTDIR: ${p} is a file, not a folder`), { code: "ENOTDIR" });
    missing.push(p);
    if (dirname(p) === p) break; // even the root is missing: mkdir will say why
  }
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir);
    } catch (err) {
      // Someone else may have made it meanwhile; that is fine if it is a folder.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || (await kindOf(dir)) !== "folder") throw err;
    }
  }
}

async function kindOf(path: string): Promise<"folder" | "other" | "missing"> {
  try {
    return (await stat(path)).isDirectory() ? "folder" : "other";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw err;
  }
}
