/** Why `text` is not an http(s) URL (an OTLP endpoint, an engine's URL), or undefined; `example` shows one that is. */
export function httpUrlProblem(text: string, example: string): string | undefined {
  const protocol = URL.canParse(text) ? new URL(text).protocol : undefined;
  return protocol === "http:" || protocol === "https:" ? undefined : `must be an http(s) URL such as ${example}, got "${text}"`;
}

/**
 * Why `text` is not a browser origin CORS can name, or undefined: "*", or
 * scheme://host[:port] with nothing after, as a browser sends it in Origin
 * (http://localhost:3000, and an extension's chrome-extension://id or
 * moz-extension://id, an app's tauri://localhost).
 */
export function originProblem(text: string): string | undefined {
  if (text === "*") return undefined;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  // Exactly scheme://host[:port]: a trailing "/" or a path would never match a browser's Origin.
  if (url && url.host !== "" && text === `${url.protocol}//${url.host}`) return undefined;
  const hint = url && url.host !== "" && text.startsWith(`${url.protocol}//${url.host}`) ? ` (did you mean "${url.protocol}//${url.host}"?)` : "";
  return `must be * or an origin such as http://localhost:3000 (scheme, host and port, nothing after), got "${text}"${hint}`;
}
