/** Why `text` is not an http(s) URL (an OTLP endpoint, an engine's URL), or undefined; `example` shows one that is. */
export function httpUrlProblem(text: string, example: string): string | undefined {
  const protocol = URL.canParse(text) ? new URL(text).protocol : undefined;
  return protocol === "http:" || protocol === "https:" ? undefined : `must be an http(s) URL such as ${example}, got "${text}"`;
}
