/**
 * How much of the machine other processes took while a benchmark measured:
 * all CPU time (Linux /proc/stat) less the servers' and this process's own.
 * Ratios measured beside a busy neighbour are not measurements.
 */
import type { BenchServer } from "./benchServer.js";
import { machineCpuMs, ownCpuMs } from "./procStat.js";

const serversCpuMs = (servers: readonly BenchServer[]): number => servers.reduce((a, s) => a + s.cpuMs(), 0);

export class MachineLoad {
  /** Above this share of one core, on average, the report is refused. */
  static readonly LIMIT_PCT = 25;
  private othersMs = 0;
  private wallMs = 0;
  private mark: { busy: number; own: number; serversMs: number; at: number; servers: readonly BenchServer[] } | undefined;

  start(servers: readonly BenchServer[]): void {
    this.mark = { busy: machineCpuMs().busy, own: ownCpuMs(), serversMs: serversCpuMs(servers), at: performance.now(), servers };
  }

  stop(): void {
    const m = this.mark!;
    const servers = serversCpuMs(m.servers) - m.serversMs;
    this.othersMs += Math.max(0, machineCpuMs().busy - m.busy - (ownCpuMs() - m.own) - servers);
    this.wallMs += performance.now() - m.at;
    this.mark = undefined;
  }

  /** Other processes' CPU, % of one core, over the measured time. */
  othersPct(): number {
    return this.wallMs > 0 ? (this.othersMs / this.wallMs) * 100 : 0;
  }
}
