/**
 * CPU time and resident memory of a process and its descendants, read from /proc: what a server
 * costs per invocation, whichever engine it is and however many processes or threads it runs.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/stat, 100 on every mainstream build. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessSample {
  /** User plus system CPU time of the process tree, in milliseconds. */
  readonly cpuMs: number;
  /** Resident set size of the process tree, in MiB. */
  readonly rssMiB: number;
}

/** The fields of /proc/<pid>/stat after the parenthesised command name (which may hold spaces); index 0 is field 3, the state. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** `pid` and every live descendant (found through the parent pid of each process in /proc). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields === null) continue;
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop()!;
    tree.push(next);
    pending.push(...(children.get(next) ?? []));
  }
  return tree;
}

function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** CPU time so far and RSS now of `pid` and its descendants (a process gone meanwhile counts nothing). */
export function sampleProcess(pid: number): ProcessSample {
  let ticks = 0;
  let kib = 0;
  for (const p of processTree(pid)) {
    const fields = statFields(p);
    if (fields === null) continue;
    // Fields 14 and 15: utime and stime, in clock ticks.
    ticks += Number(fields[11]) + Number(fields[12]);
    kib += rssKiB(p);
  }
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, rssMiB: kib / 1024 };
}

/** `sampleProcess` summed over several processes (a cluster's nodes). */
export function sampleProcesses(pids: readonly number[]): ProcessSample {
  return pids.map(sampleProcess).reduce((a, b) => ({ cpuMs: a.cpuMs + b.cpuMs, rssMiB: a.rssMiB + b.rssMiB }), { cpuMs: 0, rssMiB: 0 });
}
