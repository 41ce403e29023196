/**
 * How much of the machine other processes took while a benchmark measured:
 * all CPU time (Linux /proc/stat) less the servers' and this process's own.
 * Ratios measured beside a busy neighbour are not measurements.
 */
import { readFileSync } from "node:fs";
import type { BenchServer } from "./benchServer.js";

/** Busy CPU time of the whole machine, ms (USER_HZ ticks: user, nice, system, irq, softirq, steal). */
function machineBusyMs(): number {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const t = fields.map(Number);
  return ((t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) * 1000) / 100;
}

function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export class MachineLoad {
  /** Above this share of one core, on average, the report is refused. */
  static readonly LIMIT_PCT = 25;
  private othersMs = 0;
  private wallMs = 0;
  private mark: { busy: number; own: number; servers: number; at: number; servers_: BenchServer[] } | undefined;

  start(servers: BenchServer[]): void {
    this.mark = { busy: machineBusyMs(), own: ownCpuMs(), servers: servers.reduce((a, s) => a + s.cpuMs(), 0), at: performance.now(), servers_: servers };
  }

  stop(): void {
    const m = this.mark!;
    const servers = m.servers_.reduce((a, s) => a + s.cpuMs(), 0) - m.servers;
    this.othersMs += Math.max(0, machineBusyMs() - m.busy - (ownCpuMs() - m.own) - servers);
    this.wallMs += performance.now() - m.at;
    this.mark = undefined;
  }

  /** Other processes' CPU, % of one core, over the measured time. */
  othersPct(): number {
    return this.wallMs > 0 ? (this.othersMs / this.wallMs) * 100 : 0;
  }
}
