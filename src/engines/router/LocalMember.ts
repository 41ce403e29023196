/**
 * This process's model as one of the router's engines (an engines entry of
 * kind local): chosen by the same policy as the remote ones, it serves a
 * request the way the server alone would, on its own timeline (steps, no hop).
 */
import type { GenerationStream } from "../../master/GenerationStream.js";
import type { EngineRequest, RemoteEngineStats } from "../Engine.js";
import type { LocalEngine } from "../LocalEngine.js";

export class LocalMember {
  outstanding = 0;
  served = 0;
  failures = 0;

  constructor(
    readonly name: string,
    readonly engine: LocalEngine,
  ) {}

  get healthy(): boolean {
    return this.engine.state === "ready";
  }

  async generate(request: EngineRequest, admitted: boolean): Promise<GenerationStream> {
    this.outstanding++;
    let stream: GenerationStream;
    try {
      stream = await this.engine.generate(request, admitted);
    } catch (err) {
      this.outstanding--;
      throw err;
    }
    void stream.completion.then((c) => {
      this.outstanding--;
      if (c.finishReason === "error") this.failures++;
      else this.served++;
    });
    return stream;
  }

  stats(): RemoteEngineStats {
    const s = this.healthy ? this.engine.stats() : undefined;
    return {
      name: this.name,
      kind: "local",
      url: "",
      healthy: this.healthy,
      outstanding: this.outstanding,
      served: this.served,
      failures: this.failures,
      lastError: this.engine.failure?.message ?? null,
      load: s ? { running: s.running, waiting: s.waiting, capacity: this.engine.options.rows } : null,
    };
  }
}
