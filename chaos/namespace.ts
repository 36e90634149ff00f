import { spawn } from "node:child_process";
import { readFileSync, readlinkSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { runCommand } from "./command.ts";

const LEFTOVER_WAIT_MS = 2_000;

/** (Not REPRISE_*: Reprise reads those as configuration.) Set for the process inside the private namespace: the network namespace of the runner outside (`net:[inode]`). */
export const OUTER_NAMESPACE_ENV = "CHAOS_OUTER_NETNS";
/** The file where the process inside lists the pids it started, so the one outside can kill leftovers. */
export const PID_FILE_ENV = "CHAOS_PID_FILE";

/** The harness cannot run here: not root, or a tool it needs is missing. */
export class ChaosPrerequisiteError extends Error {
  override readonly name = "ChaosPrerequisiteError";
}

/**
 * Refuses to go on unless this process is in a network namespace of its own, not the one of the
 * runner that started it, with nothing but loopback: a fault injected by nft in the machine's own
 * namespace would cut the machine, not the test cluster. (Compared with the runner's namespace,
 * not pid 1's: /proc/1/ns may be unreadable even to root in a sandbox.)
 */
export async function assertPrivateNetwork(): Promise<void> {
  const mine = readlinkSync("/proc/self/ns/net");
  const outer = process.env[OUTER_NAMESPACE_ENV];
  if (outer === undefined || outer === mine) {
    throw new ChaosPrerequisiteError(`refusing to change the firewall: this process is not in a namespace of its own (${mine}); start it through runInPrivateNetwork`);
  }
  const links = (await runCommand("ip", ["-o", "link", "show"])).trim().split("\n");
  const others = links.filter((l) => !/^\d+: lo:/.test(l));
  if (others.length > 0) throw new ChaosPrerequisiteError(`the private network namespace has interfaces other than lo: ${others.join("; ")}`);
}

/** Brings up loopback in a fresh namespace; the whole 127.0.0.0/8 is on it, one address per node. */
export async function setUpLoopback(): Promise<void> {
  await assertPrivateNetwork();
  await runCommand("ip", ["link", "set", "lo", "up"]);
}

/** What the chaos harness runs; a user of the namespace alone (the compare benchmark) needs only unshare and ip. */
const CHAOS_TOOLS = ["unshare", "ip", "ss", "nft", "etcd"];

/** Root and the tools the harness runs: unshare, ip, ss, nft, etcd. */
export async function checkPrerequisites(tools: readonly string[] = CHAOS_TOOLS): Promise<void> {
  if (process.getuid?.() !== 0) throw new ChaosPrerequisiteError("the chaos harness needs root (it creates a network namespace and runs nodes as their own uids)");
  const missing: string[] = [];
  for (const tool of tools) {
    try {
      await runCommand("sh", ["-c", `command -v ${tool}`]);
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length > 0) throw new ChaosPrerequisiteError(`missing ${missing.join(", ")}: run \`bash scripts/install-chaos-deps.sh\``);
}

/**
 * Runs `node [--import tsx] entry args` inside a new network namespace (`unshare -n`) and
 * resolves with its exit code. SIGINT and SIGTERM are passed on, so the process inside heals and
 * stops what it started; whatever it listed in the pid file and left running (it was killed,
 * say) is SIGKILLed here by pid once it is gone.
 */
export async function runInPrivateNetwork(entry: string, args: readonly string[], pidFile: string, tools: readonly string[] = CHAOS_TOOLS): Promise<number> {
  await checkPrerequisites(tools);
  const loader = /\.[cm]?ts$/.test(entry) ? ["--import", "tsx"] : [];
  const child = spawn("unshare", ["--net", "--", process.execPath, ...loader, entry, ...args], {
    stdio: "inherit",
    env: { ...process.env, [OUTER_NAMESPACE_ENV]: readlinkSync("/proc/self/ns/net"), [PID_FILE_ENV]: pidFile },
  });
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : 1)));
    });
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    await killLeftovers(pidFile);
  }
}

/** A pid file line: `<pid> <start time>`; the start time tells a reused pid from ours. */
export function pidFileLine(pid: number): string {
  return `${pid} ${startTime(pid) ?? 0}\n`;
}

async function killLeftovers(pidFile: string): Promise<void> {
  let lines: string[];
  try {
    lines = readFileSync(pidFile, "utf8").trim().split("\n").filter((l) => l !== "");
  } catch {
    return;
  }
  for (const line of lines) {
    const [pid, started] = line.split(" ").map(Number);
    if (startTime(pid) !== started) continue;
    process.stderr.write(`chaos: killing leftover process ${pid}\n`);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone since we looked.
    }
    for (let waited = 0; processRunning(pid) && waited < LEFTOVER_WAIT_MS; waited += 20) await sleep(20);
  }
  rmSync(pidFile, { force: true });
}

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, is not). */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces), or null if there is no such process. */
function startTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  } catch {
    return null;
  }
}
