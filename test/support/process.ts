/**
 * Every child process a test or benchmark starts: the `reprise server` CLI, the log-server-only
 * process (src/cluster/log-server-main.ts), test children such as append-child.ts, etcd.
 *
 * Stdout protocol: a child reports what it does as JSON lines `{"event":"<name>", ...}`; every
 * stdout line that parses as a JSON object with an `event` field is kept in `events`, anything else
 * (pino log lines, which never carry `event`) is ignored. The ready line is the event `ready`, one
 * line printed once the process serves, naming what it bound: for Reprise processes the fields of
 * `ReadyEvent` (src/cluster/ready-event.ts), e.g.
 *   {"event":"ready","ingress":8080,"admin":9070,"node":"N1:1","nodePort":5122,"roles":["worker","log-server"]}
 *
 * Each child is tracked by pid. Children still running when the test file ends (a root `after`
 * hook in test files) or when this process exits are SIGKILLed by pid, so a failed hook or a crash
 * leaves no stray servers. Stderr is captured (its tail) for error messages. Every wait is bounded.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { after } from "node:test";
import type { ReadyEvent } from "../../src/cluster/ready-event.ts";

const REPO = resolve(import.meta.dirname, "../..");
const STDERR_TAIL_CHARS = 4_000;
const STDOUT_TAIL_CHARS = 16_000;
const DEFAULT_WAIT_MS = 15_000;
const DEFAULT_STOP_GRACE_MS = 10_000;

/** One JSON line a child printed on stdout. */
export type ChildEvent = Readonly<Record<string, unknown>> & { readonly event: string };

export interface ChildOptions {
  /** Added to this process's environment; REPRISE_LOG_LEVEL defaults to warn. */
  readonly env?: NodeJS.ProcessEnv;
  /** Defaults to the repository root. */
  readonly cwd?: string;
}

export interface NodeChildOptions extends ChildOptions {
  /** `node` flags before the entry point, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
}

export interface TrackedChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every event line so far, in order. */
  readonly events: ChildEvent[];
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  running(): boolean;
  /** The last few thousand characters the child wrote to stderr. */
  stderr(): string;
  /** The last lines the child wrote to stdout that are not events (its log lines), a few thousand characters. */
  stdout(): string;
  /** Resolves with the first event (seen so far or later) matching `pred`; rejects on timeout or exit. */
  waitFor(pred: (e: ChildEvent) => boolean, timeoutMs?: number): Promise<ChildEvent>;
  /** Sends `signal` (default SIGKILL) to the pid and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM, SIGKILL after `graceMs`; waits until the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Map<number, TrackedChild>();

function killAllNow(): void {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone between its exit and our bookkeeping.
    }
  }
}

process.once("exit", killAllNow);
// A test file's process ends when its event loop drains, which a running child prevents: kill
// whatever the suites did not stop. Only in test files: outside one, `after` would start a test run.
if (/\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? "")) {
  after(async () => {
    await Promise.all([...running.values()].map((c) => c.kill("SIGKILL")));
  });
}

/** Runs `command args` as a tracked child. */
export function spawnChild(command: string, args: readonly string[], opts: ChildOptions = {}): TrackedChild {
  const proc = spawn(command, [...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, REPRISE_LOG_LEVEL: process.env.REPRISE_LOG_LEVEL ?? "warn", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const label = `${command} ${args.join(" ")}`.slice(0, 200);
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`could not start ${label}`);
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-STDERR_TAIL_CHARS)));
  const events: ChildEvent[] = [];
  const listeners = new Set<() => void>();
  let stdout = "";
  const lines = createInterface({ input: proc.stdout! });
  lines.on("line", (line) => {
    const event = parseEvent(line);
    if (event === null) {
      stdout = (stdout + line + "\n").slice(-STDOUT_TAIL_CHARS);
      return;
    }
    events.push(event);
    for (const l of listeners) l();
  });
  const stdoutClosed = new Promise<void>((resolveClosed) => lines.once("close", resolveClosed));
  const exited = new Promise<number | null>((resolveExit) =>
    proc.once("exit", (code) => {
      running.delete(pid);
      resolveExit(code);
    }),
  );
  const isRunning = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const signal = (s: NodeJS.Signals): void => {
    if (isRunning()) process.kill(pid, s);
  };

  const child: TrackedChild = {
    process: proc,
    pid,
    events,
    exited,
    running: isRunning,
    stderr: () => stderr,
    stdout: () => stdout,
    waitFor(pred, timeoutMs = DEFAULT_WAIT_MS) {
      return new Promise((resolveWait, reject) => {
        const check = (): void => {
          const hit = events.find(pred);
          if (hit === undefined) return;
          cleanup();
          resolveWait(hit);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${label} (pid ${pid}): no matching event within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        // Lines printed just before exiting may still be in the pipe when "exit" fires.
        void Promise.all([exited, stdoutClosed]).then(([code]) => {
          if (!listeners.has(check)) return;
          cleanup();
          reject(new Error(`${label} (pid ${pid}) exited with ${code ?? proc.signalCode} before the awaited event; stderr: ${stderr}`));
        });
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async kill(s = "SIGKILL") {
      signal(s);
      await exited;
    },
    async stop(graceMs = DEFAULT_STOP_GRACE_MS) {
      if (!isRunning()) return;
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.set(pid, child);
  return child;
}

/** Runs a JavaScript or TypeScript entry point in a child `node` (TypeScript through tsx). */
export function spawnNodeChild(entry: string, args: readonly string[], opts: NodeChildOptions = {}): TrackedChild {
  const loader = /\.[cm]?ts$/.test(entry) ? ["--import", "tsx"] : [];
  return spawnChild(process.execPath, [...loader, ...(opts.nodeArgs ?? []), entry, ...args], opts);
}

export interface ReadyChild<R = ReadyEvent> extends TrackedChild {
  readonly ready: R;
}

/**
 * Starts a child `node` process and waits (at most `readyTimeoutMs`) for its ready line; if it
 * does not come, the child is killed and the error carries its stderr.
 */
export async function startReadyChild<R = ReadyEvent>(
  entry: string,
  args: readonly string[],
  opts: NodeChildOptions & { readyTimeoutMs?: number } = {},
): Promise<ReadyChild<R>> {
  const child = spawnNodeChild(entry, args, opts);
  try {
    const ready = (await child.waitFor((e) => e.event === "ready", opts.readyTimeoutMs ?? DEFAULT_WAIT_MS)) as unknown as R;
    return { ...child, ready };
  } catch (e) {
    await child.kill();
    throw e;
  }
}

function parseEvent(line: string): ChildEvent | null {
  if (!line.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(line);
    const isEvent = typeof value === "object" && value !== null && typeof (value as { event?: unknown }).event === "string";
    return isEvent ? (value as ChildEvent) : null;
  } catch {
    return null;
  }
}
