/** Building request bodies that JSON.stringify cannot make: raw tokens (NaN), deep nesting, exact byte sizes. */
import { type BodyParts, type GenRoute } from "./fuzzRoutes.js";

const HOLE = "__FUZZ_RAW__";

/** The route's valid body with one value replaced by raw JSON text (which need not be valid JSON). */
export function withRaw(route: GenRoute, place: (hole: string) => BodyParts, raw: string): string {
  const text = JSON.stringify(route.body(place(HOLE)));
  const at = text.indexOf(JSON.stringify(HOLE));
  if (at < 0) throw new Error(`no hole in ${text}`);
  return text.slice(0, at) + raw + text.slice(at + JSON.stringify(HOLE).length);
}

/** Where a raw value goes, by the family's own names. */
export const at = {
  prompt: (hole: string): BodyParts => ({ prompt: hole }),
  maxTokens: (hole: string): BodyParts => ({ maxTokens: hole }),
  param: (name: string) => (hole: string): BodyParts => ({ params: { [name]: hole } }),
  top: (name: string) => (hole: string): BodyParts => ({ top: { [name]: hole } }),
};

export const deepArray = (levels: number): string => "[".repeat(levels) + "]".repeat(levels);
export const deepObject = (levels: number): string => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);

/** The route's body with the prompt padded (with `unit`, repeated) to exactly `bytes` bytes of UTF-8. */
export function bodyOfSize(route: GenRoute, bytes: number, unit = "a"): Buffer {
  const empty = Buffer.byteLength(withRaw(route, at.prompt, '""'));
  const unitBytes = Buffer.byteLength(unit);
  const room = bytes - empty;
  const prompt = unit.repeat(Math.floor(room / unitBytes)) + "a".repeat(room % unitBytes);
  const body = Buffer.from(withRaw(route, at.prompt, JSON.stringify(prompt)), "utf8");
  if (body.length !== bytes) throw new Error(`padded body is ${body.length} bytes, not ${bytes}`);
  return body;
}

/** The route's body as UTF-8 bytes with `bytes` spliced into the prompt string. */
export function withPromptBytes(route: GenRoute, bytes: readonly number[]): Buffer {
  const [before, after] = withRaw(route, at.prompt, `"${HOLE}"`).split(HOLE);
  return Buffer.concat([Buffer.from(before, "utf8"), Buffer.from(bytes), Buffer.from(after, "utf8")]);
}
