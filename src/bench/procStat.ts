/**
 * CPU time and memory from Linux's /proc, as the benchmarks read them: a
 * process's (the server's), a process tree's (a browser's), this process's
 * own, and the whole machine's.
 * Reading /proc needs nothing from the server, so it works against any
 * server and cannot be skewed by it.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc counts CPU time in these ticks. */
const MS_PER_TICK = 10;

/** The fields of /proc/<pid>/stat after the command name: [0] is the state, [1] the parent's pid, [11] utime, [12] stime. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces: fields are counted from after its closing parenthesis.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** utime + stime of a process, from /proc/<pid>/stat, in ms. */
export function processCpuMs(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
}

/** CPU time of a process and every living process under it, ms (a browser's renderer, GPU and network processes). */
export function treeCpuMs(root: number): number {
  const parents = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      parents.set(Number(name), Number(statFields(Number(name))[1]));
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
    return false;
  };
  let total = 0;
  for (const pid of parents.keys()) {
    try {
      if (inTree(pid)) total += processCpuMs(pid);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** A process's resident set size (VmRSS), MiB; NaN if the kernel does not say. */
export function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

/** The machine's busy (user, nice, system, irq, softirq, steal) and total CPU time so far, ms, all cores together. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + (steal || 0);
  return { busy: busy * MS_PER_TICK, total: (busy + idle + iowait) * MS_PER_TICK };
}

/** This process's CPU time (user + system) so far, ms. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
