/**
 * Fuzz corpus, hostile request bodies on the generation routes. JSON: NaN
 * and Infinity as raw body text, truncated bodies, bodies that are not
 * objects, deep nesting (10 000 levels in every kind of field, ~500 000
 * levels just under the 1 MiB limit), bodies at and just over that limit,
 * duplicate and prototype keys. Bytes: invalid UTF-8, lone surrogates as \u
 * escapes, other encodings (UTF-16, latin-1 with its charset), and wrong,
 * missing or odd content types.
 */
import { describe } from "node:test";
import { gzipSync } from "node:zlib";
import { at, bodyOfSize, deepArray, deepObject, withPromptBytes, withRaw } from "./fuzzBodies.js";
import { answered, either, fuzzer, refused } from "./fuzzRunner.js";
import { chatApart, GEN_ROUTES, invalidStatus, type GenRoute } from "./fuzzRoutes.js";
import { spread, tooBig, variantsOf, type Variant } from "./fuzzTable.js";

const fuzz = fuzzer();
const MIB = 1 << 20;
const invalid = (route: GenRoute, param?: string) => refused({ statuses: [invalidStatus(route)], param });
const maxName = (route: GenRoute): string => route.paramPrefix + route.maxTokensParam;
/**
 * Text the server cannot take as it is: refusing it (4xx) and decoding it the
 * way WHATWG decoders do (U+FFFD for each bad sequence) are both correct; a
 * success body is still checked to be well-formed.
 */
const replacedOrRefused = (route: GenRoute) => either({ statuses: [invalidStatus(route), 415] });
const text = (route: GenRoute): string => JSON.stringify(route.body({ prompt: "héllo wörld" }));

describe("NaN and Infinity as raw body text", () => {
  const variants: Variant[] = [
    // Not JSON at all (JSON has no NaN or Infinity): a parse error.
    ...variantsOf(
      ["NaN", "Infinity", "-Infinity", "+1", "0x10", ".5", "undefined"].map((token) => [`max tokens: ${token}`, token] as const),
      (token, route) => ({ body: withRaw(route, at.maxTokens, token), expect: invalid(route) }),
    ),
    { what: "temperature: NaN", make: (route) => ({ body: withRaw(route, at.param("temperature"), "NaN"), expect: invalid(route) }) },
    // Valid JSON that JSON.parse turns into ±Infinity: the parameter is named.
    { what: "max tokens: 1e999", make: (route) => ({ body: withRaw(route, at.maxTokens, "1e999"), expect: invalid(route, maxName(route)) }) },
    { what: "temperature: -1e999", make: (route) => ({ body: withRaw(route, at.param("temperature"), "-1e999"), expect: invalid(route, `${route.paramPrefix}temperature`) }) },
    { what: "seed: 1e999", make: (route) => ({ body: withRaw(route, at.param("seed"), "1e999"), expect: invalid(route, `${route.paramPrefix}seed`) }) },
  ];
  fuzz.cases(spread(variants));
});

describe("truncated and malformed JSON", () => {
  const whole = (route: GenRoute): string => withRaw(route, at.prompt, '"caf\\u00e9 au lait"');
  const variants: Variant[] = [
    { what: "cut in half", make: (route) => ({ body: whole(route).slice(0, whole(route).length >> 1), expect: invalid(route) }) },
    { what: "cut inside a \\u escape", make: (route) => ({ body: whole(route).slice(0, whole(route).indexOf("\\u00") + 4), expect: invalid(route) }) },
    { what: "last brace missing", make: (route) => ({ body: whole(route).slice(0, -1), expect: invalid(route) }) },
    { what: "trailing garbage after the object", make: (route) => ({ body: `${whole(route)} {}`, expect: invalid(route) }) },
    { what: "single-quoted strings", make: (route) => ({ body: whole(route).replace(/"/g, "'"), expect: invalid(route) }) },
    { what: "a trailing comma", make: (route) => ({ body: whole(route).replace(/\}$/, ",}"), expect: invalid(route) }) },
    { what: "only an opening brace", make: (route) => ({ body: "{", expect: invalid(route) }) },
  ];
  fuzz.cases(spread(variants));
});

describe("bodies that are not JSON objects", () => {
  const variants = variantsOf(
    [
      ["the body is null", "null"],
      ["the body is an array", "[1, 2]"],
      ["the body is a string", '"inputs"'],
      ["the body is a number", "42"],
      ["the body is true", "true"],
      ["the body is empty", ""],
      ["the body is only whitespace", " \n\t "],
    ],
    (body, route) => ({ body, expect: invalid(route) }),
  );
  fuzz.cases(spread(variants));
});

describe("deeply nested JSON", () => {
  const levels = 10_000;
  // Error messages quote the bad value: quoting must not recurse 10 000 levels deep.
  const variants: Variant[] = [
    { what: `the body is ${levels} levels of [[[…]]]`, make: (route) => ({ body: deepArray(levels), expect: invalid(route) }) },
    { what: `the body is ${levels} levels of {"a":{…}}`, make: (route) => ({ body: deepObject(levels), expect: invalid(route) }) },
    { what: `the prompt is ${levels} levels of {"a":{…}}`, make: (route) => ({ body: withRaw(route, at.prompt, deepObject(levels)), expect: invalid(route, route.promptParam) }) },
    { what: `the prompt is ${levels} levels of [[[…]]]`, make: (route) => ({ body: withRaw(route, at.prompt, deepArray(levels)), expect: invalid(route) }) },
    { what: `temperature is ${levels} levels of {"a":{…}}`, make: (route) => ({ body: withRaw(route, at.param("temperature"), deepObject(levels)), expect: invalid(route, `${route.paramPrefix}temperature`) }) },
    { what: `stop is ${levels} levels of {"a":{…}}`, make: (route) => ({ body: withRaw(route, at.param("stop"), deepObject(levels)), expect: invalid(route, `${route.paramPrefix}stop`) }) },
    { what: `stop is ${levels} levels of [[[…]]]`, make: (route) => ({ body: withRaw(route, at.param("stop"), deepArray(levels)), expect: invalid(route, `${route.paramPrefix}stop`) }) },
    { what: `max tokens is ${levels} levels of {"a":{…}}`, make: (route) => ({ body: withRaw(route, at.maxTokens, deepObject(levels)), expect: invalid(route, maxName(route)) }) },
    { what: `seed is ${levels} levels of {"a":{…}}`, make: (route) => ({ body: withRaw(route, at.param("seed"), deepObject(levels)), expect: invalid(route, `${route.paramPrefix}seed`) }) },
    {
      what: `model is ${levels} levels of {"a":{…}}`,
      make: (route) => (route.family === "openai" ? { body: withRaw(route, at.top("model"), deepObject(levels)), expect: refused({ statuses: [400, 404], param: "model" }) } : undefined),
    },
    // Just under the body limit: half a million levels, in the prompt.
    { what: "the prompt is ~500 000 levels of [[[…]]] (just under 1 MiB)", make: (route) => ({ body: withRaw(route, at.prompt, deepArray((MIB - 200) >> 1)), expect: tooBig(route) }) },
  ];
  // Chat reads its prompt from messages: a group of its own.
  fuzz.cases(spread(variants, GEN_ROUTES, chatApart));
});

describe("1 MiB bodies (the limit is 1 MiB)", () => {
  const variants: Variant[] = [
    // At the limit: no prompt that long fits the 512-token context.
    { what: "a body of exactly 1 MiB (an ASCII prompt)", make: (route) => ({ body: bodyOfSize(route, MIB), expect: tooBig(route) }) },
    { what: "a body of 1 MiB + 1 byte", make: (route) => ({ body: bodyOfSize(route, MIB + 1), expect: refused({ statuses: [413] }) }) },
    { what: "a body of 8 MiB", make: (route) => ({ body: bodyOfSize(route, 8 * MIB), expect: refused({ statuses: [413] }) }) },
    { what: "a body of exactly 1 MiB (a CJK and emoji prompt)", make: (route) => ({ body: bodyOfSize(route, MIB, "語😀"), expect: tooBig(route) }) },
    { what: "a body of 1 MiB + 1 byte (a CJK and emoji prompt)", make: (route) => ({ body: bodyOfSize(route, MIB + 1, "語😀"), expect: refused({ statuses: [413] }) }) },
    // Six body bytes per character: 1 MiB of \u escapes is 175 000 characters, still far too long.
    { what: "a 1 MiB body of \\u escapes", make: (route) => ({ body: withRaw(route, at.prompt, `"${"\\u00e9".repeat((MIB - 300) / 6)}"`), expect: tooBig(route) }) },
    {
      // Whitespace counts toward the limit too: a small valid request, refused only for its size.
      what: "a valid request padded with whitespace to 1 MiB + 1",
      make: (route) => {
        const json = JSON.stringify(route.body());
        return { body: Buffer.concat([Buffer.from(json), Buffer.alloc(MIB + 1 - Buffer.byteLength(json), " ")]), expect: refused({ statuses: [413] }) };
      },
    },
  ];
  fuzz.cases(spread(variants));
});

describe("duplicate and prototype keys", () => {
  const variants: Variant[] = [
    {
      // JSON.parse keeps the last duplicate, here of the wrong type.
      what: "a duplicate prompt key, the last one a number",
      make: (route) => ({ body: JSON.stringify(route.body()).replace(/\}$/, `, "${route.path.includes("chat") ? "messages" : route.promptParam}": 5}`), expect: invalid(route) }),
    },
    // fastify's JSON parser refuses __proto__ keys (prototype pollution); ignoring a harmless one is fine too.
    { what: "a __proto__ key", make: (route) => ({ body: JSON.stringify(route.body()).replace(/^\{/, '{"__proto__": {"polluted": true},'), expect: either({ statuses: [invalidStatus(route)] }) }) },
    { what: "a constructor.prototype key", make: (route) => ({ body: JSON.stringify(route.body()).replace(/^\{/, '{"constructor": {"prototype": {"polluted": true}},'), expect: either({ statuses: [invalidStatus(route)] }) }) },
  ];
  fuzz.cases(spread(variants));
});

describe("invalid UTF-8 bytes", () => {
  const variants: Variant[] = [
    ...variantsOf(
      [
        ["the prompt holds 0xFF 0xFE", [0xff, 0xfe]],
        ["the prompt holds a lone continuation byte 0x80", [0x61, 0x80, 0x62]],
        ["the prompt holds a truncated 4-byte sequence F0 9F 98", [0xf0, 0x9f, 0x98]],
        ["the prompt holds an overlong '/' C0 AF", [0xc0, 0xaf]],
        ["the prompt holds a UTF-8-encoded surrogate ED A0 80", [0xed, 0xa0, 0x80]],
        ["the prompt holds a code point above U+10FFFF F4 90 80 80", [0xf4, 0x90, 0x80, 0x80]],
      ],
      (bytes, route) => ({ body: withPromptBytes(route, bytes), expect: replacedOrRefused(route) }),
    ),
    // Outside a string the same bytes break the JSON itself.
    { what: "0xFF between JSON tokens", make: (route) => ({ body: Buffer.concat([Buffer.from(text(route).slice(0, -1)), Buffer.from([0x2c, 0xff]), Buffer.from("}")]), expect: invalid(route) }) },
    { what: "a NUL byte between JSON tokens", make: (route) => ({ body: Buffer.concat([Buffer.from(text(route).slice(0, -1)), Buffer.from([0x00]), Buffer.from("}")]), expect: invalid(route) }) },
  ];
  fuzz.cases(spread(variants));
});

describe("lone surrogates as \\u escapes", () => {
  // JSON's grammar allows any \u escape; what it means as text is the server's call (replace or refuse).
  const variants: Variant[] = [
    ...variantsOf(
      [
        ["the prompt is a lone high surrogate \\ud800", '"\\ud800"'],
        ["the prompt is a lone low surrogate \\udfff", '"\\udfff"'],
        ["the prompt is a reversed pair \\udc00\\ud800", '"\\udc00\\ud800"'],
        ["the prompt is text ending in half an emoji \\ud83d", '"smile \\ud83d"'],
        ["the prompt is an escaped NUL \\u0000", '"a\\u0000b"'],
      ],
      (raw, route) => ({ body: withRaw(route, at.prompt, raw), expect: replacedOrRefused(route) }),
    ),
    { what: "a stop string that is a lone surrogate", make: (route) => ({ body: withRaw(route, at.param("stop"), '["\\ud800"]'), expect: replacedOrRefused(route) }) },
  ];
  fuzz.cases(spread(variants));
});

describe("bodies in other encodings", () => {
  const variants: Variant[] = [
    // UTF-16 puts a NUL after every ASCII byte: not JSON as UTF-8.
    { what: "UTF-16LE bytes as application/json", make: (route) => ({ body: Buffer.from(text(route), "utf16le"), expect: invalid(route) }) },
    { what: "UTF-16BE bytes as application/json", make: (route) => ({ body: Buffer.from(text(route), "utf16le").swap16(), expect: invalid(route) }) },
    {
      what: "UTF-16LE with a BOM and charset=utf-16le",
      make: (route) => ({ body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text(route), "utf16le")]), contentType: "application/json; charset=utf-16le", expect: either({ statuses: [invalidStatus(route), 415] }) }),
    },
    // application/json has no charset parameter (RFC 8259: it has no effect), so é as one latin-1 byte is invalid UTF-8.
    { what: "latin-1 bytes with charset=iso-8859-1", make: (route) => ({ body: Buffer.from(text(route), "latin1"), contentType: "application/json; charset=iso-8859-1", expect: replacedOrRefused(route) }) },
    { what: "latin-1 bytes as text/plain; charset=iso-8859-1", make: (route) => ({ body: Buffer.from(text(route), "latin1"), contentType: "text/plain; charset=iso-8859-1", expect: replacedOrRefused(route) }) },
    { what: "a UTF-8 byte order mark before the JSON", make: (route) => ({ body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text(route))]), expect: either({ statuses: [invalidStatus(route)] }) }) },
    { what: "charset=utf-32 on UTF-8 bytes", make: (route) => ({ body: text(route), contentType: "application/json; charset=utf-32", expect: either({ statuses: [invalidStatus(route), 415] }) }) },
  ];
  fuzz.cases(spread(variants));
});

describe("wrong content types", () => {
  const json = (route: GenRoute): string => JSON.stringify(route.body());
  const variants: Variant[] = [
    ...variantsOf(
      ["application/xml", "multipart/form-data; boundary=x", "application/octet-stream", "application/vnd.api+json", ";;;==", ""].map((type) => [`Content-Type ${JSON.stringify(type)}`, type] as const),
      (type, route) => ({ body: json(route), contentType: type, expect: refused({ statuses: [415] }) }),
    ),
    // requestBodies.ts reads a body without Content-Type, and text/plain and form bodies, as JSON for clients that forget the header: documented success.
    { what: "no Content-Type", make: (route) => ({ body: json(route), contentType: null, expect: answered() }) },
    { what: "invalid JSON without Content-Type", make: (route) => ({ body: "{inputs: x", contentType: null, expect: invalid(route) }) },
    { what: "valid JSON as text/plain", make: (route) => ({ body: json(route), contentType: "text/plain", expect: answered() }) },
    { what: "valid JSON as application/x-www-form-urlencoded", make: (route) => ({ body: json(route), contentType: "application/x-www-form-urlencoded", expect: answered() }) },
    { what: "invalid JSON as text/plain", make: (route) => ({ body: "{inputs: x", contentType: "text/plain", expect: invalid(route) }) },
    { what: "a real form body", make: (route) => ({ body: "inputs=hello&parameters=%7B%7D", contentType: "application/x-www-form-urlencoded", expect: invalid(route) }) },
    // Media types are case-insensitive (RFC 9110), so reading it is right; refusing it is a 415.
    { what: "APPLICATION/JSON in capitals", make: (route) => ({ body: json(route), contentType: "APPLICATION/JSON", expect: either({ statuses: [415] }) }) },
    // This server does not decode content codings: a 415 that says so, not a body called invalid JSON.
    { what: "a gzip body with Content-Encoding: gzip", make: (route) => ({ body: gzipSync(json(route)), headers: { "content-encoding": "gzip" }, expect: refused({ statuses: [415], message: /Content-Encoding/ }) }) },
  ];
  fuzz.cases(spread(variants));
});

fuzz.finalCheck();
