/** Why `text` is not an http(s) URL (an OTLP endpoint, an engine's URL), or undefined; `example` shows one that is. */
export function httpUrlProblem(text: string, example: string): string | undefined {
  const protocol = URL.canParse(text) ? new URL(text).protocol : undefined;
  return protocol === "http:" || protocol === "https:" ? undefined : `must be an http(s) URL such as ${example}, got "${text}"`;
}

/** Why `text` is not a browser origin CORS can name ("*", or scheme://host[:port] with nothing after), or undefined. */
export function originProblem(text: string): string | undefined {
  if (text === "*") return undefined;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  // A browser's Origin header is exactly scheme://host[:port]: anything else would never match one.
  if (url && (url.protocol === "http:" || url.protocol === "https:") && url.origin === text) return undefined;
  const hint = url && url.origin !== "null" && (url.protocol === "http:" || url.protocol === "https:") ? ` (did you mean "${url.origin}"?)` : "";
  return `must be * or an origin such as http://localhost:3000 (scheme, host and port, nothing after), got "${text}"${hint}`;
}
