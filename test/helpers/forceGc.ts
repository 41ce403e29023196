/** A forced full GC: global.gc when the test runs with --expose-gc, else V8's gc exposed at run time. */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc = (globalThis as { gc?: () => void }).gc;

export function forceGc(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}
