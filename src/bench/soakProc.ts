/**
 * Samples from /proc on a timer, over the run: the server's resident memory
 * (VmRSS) and CPU time, this client's CPU time, and the whole machine's busy
 * time. Reading /proc needs nothing from the server (it works with
 * --no-timing and cannot be skewed by the server's scrape handling), and the
 * CPU figures tell whether a change in latency was the server's doing or
 * other processes' on a shared machine.
 */
import { now } from "../timing/clock.js";
import { machineCpuMs, ownCpuMs, processCpuMs, rssMiB } from "./procStat.js";

export interface ProcSample {
  /** ms from the run's origin. */
  t: number;
  /** Server resident set size, MiB. */
  rssMiB: number;
  /** CPU time used so far, ms (Linux counts in 10 ms ticks). */
  serverCpuMs: number;
  clientCpuMs: number;
  /** The machine's busy and total CPU time so far, ms, all cores together. */
  machineBusyMs: number;
  machineTotalMs: number;
}

export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly origin: number,
  ) {}

  /** Takes one sample; none if /proc cannot be read (not Linux, or the server is gone). */
  sample(): void {
    try {
      const machine = machineCpuMs();
      this.samples.push({
        t: now() - this.origin,
        rssMiB: rssMiB(this.pid),
        serverCpuMs: processCpuMs(this.pid),
        clientCpuMs: ownCpuMs(),
        machineBusyMs: machine.busy,
        machineTotalMs: machine.total,
      });
    } catch {
      // The report says how many samples it had.
    }
  }

  start(intervalMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

/** CPU use between two times, in % of one core; "others" is the machine's busy time that was neither the server's nor ours. */
export interface CpuShare {
  server: number;
  client: number;
  others: number;
  cores: number;
  /** Server CPU time over the interval, ms. */
  serverMs: number;
}

export function cpuBetween(samples: readonly ProcSample[], from: number, to: number): CpuShare | undefined {
  const inside = samples.filter((s) => s.t >= from && s.t <= to);
  const a = inside[0];
  const b = inside.at(-1);
  if (!a || !b || b.t <= a.t) return undefined;
  const wall = b.t - a.t;
  const share = (ms: number): number => (100 * ms) / wall;
  const server = b.serverCpuMs - a.serverCpuMs;
  const client = b.clientCpuMs - a.clientCpuMs;
  const busy = b.machineBusyMs - a.machineBusyMs;
  return {
    server: share(server),
    client: share(client),
    others: share(Math.max(0, busy - server - client)),
    cores: (b.machineTotalMs - a.machineTotalMs) / wall,
    serverMs: server,
  };
}
