/** The model name a server serves, from its /v1/models (ours and OpenAI-compatible servers answer it). */
export async function servedModel(url: string): Promise<string> {
  try {
    const res = await fetch(new URL("/v1/models", url));
    const body = (await res.json()) as { data?: Array<{ id?: string }> };
    const id = body.data?.[0]?.id;
    if (typeof id === "string") return id;
  } catch {
    // not an OpenAI-compatible server: fall through
  }
  throw new Error(`could not learn the model's name from ${url}/v1/models: give --model`);
}
