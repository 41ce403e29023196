/** A gateway in front of remote engines, for the remote-engine tests: its engines' entries, the server, and a request's record on it. */
import { BACKEND_DEFAULTS, type BackendConfig } from "../../src/engines/remote/RemoteBackend.js";
import type { RoutingPolicyName } from "../../src/engines/router/routingPolicy.js";
import type { Logger } from "../../src/timing/Logger.js";
import { startTestServer, waitFor, type TestServer } from "./serverHarness.js";

export const MODEL = "tiny-remote";

export function backend(name: string, url: string, kind: BackendConfig["kind"], extra: Partial<BackendConfig> = {}): BackendConfig {
  return { ...BACKEND_DEFAULTS, healthIntervalMs: 200, name, url, kind, ...extra };
}

export async function gateway(engines: BackendConfig[], routing: RoutingPolicyName = "least-outstanding", logger?: Logger): Promise<TestServer> {
  const s = await startTestServer({ modelName: MODEL, engines, routing }, undefined, logger);
  await s.server.engine.ready;
  return s;
}

/** The request's record on the gateway, once its response has ended. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function record(gw: TestServer, id: string): Promise<any> {
  let r: { complete?: boolean } = {};
  await waitFor(async () => {
    const res = await fetch(`${gw.url}/debug/requests/${id}`);
    if (res.status !== 200) return false;
    r = (await res.json()) as { complete?: boolean };
    return r.complete === true;
  }, `the record of ${id}`);
  return r;
}
