import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { PID_FILE_ENV, pidFileLine } from "./namespace.ts";

const TAIL_CHARS = 4_000;

/** The `{"event":"ready", ...}` line a Reprise process prints once it serves (fields such as `node: "N1:2"`). */
export type ReadyLine = Readonly<Record<string, unknown>> & { readonly event: "ready" };
const DEFAULT_STOP_GRACE_MS = 5_000;

export interface ProcessSpec {
  /** For messages: `n1/etcd`, `n2/reprise`. */
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Run as this uid and gid (the node's), so the firewall can attribute its connections. */
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Stdout and stderr are appended here. */
  readonly logFile: string;
}

/**
 * One process the harness started: output to its log file (and a tail kept for error messages),
 * the ready line picked out of stdout, signals sent by pid. Its pid goes into the pid file the
 * harness's outer process reads, so it is killed even if the harness itself is killed.
 */
export class ChaosProcess {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  private tailText = "";
  private ready: ReadyLine | null = null;
  private readonly readyWaiters = new Set<() => void>();

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
    log: WriteStream,
  ) {
    if (child.pid === undefined) throw new Error(`could not start ${label}`);
    this.pid = child.pid;
    const keep = (chunk: Buffer): void => {
      log.write(chunk);
      this.tailText = (this.tailText + chunk.toString()).slice(-TAIL_CHARS);
    };
    child.stderr!.on("data", keep);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      keep(Buffer.from(`${line}\n`));
      if (this.ready === null && line.startsWith('{"event":"ready"')) {
        this.ready = JSON.parse(line) as ReadyLine;
        for (const wake of this.readyWaiters) wake();
      }
    });
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        log.end();
        for (const wake of this.readyWaiters) wake();
        resolve(code);
      }),
    );
  }

  static start(spec: ProcessSpec): ChaosProcess {
    const log = createWriteStream(spec.logFile, { flags: "a" });
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(spec.uid === undefined ? {} : { uid: spec.uid }),
      ...(spec.gid === undefined ? {} : { gid: spec.gid }),
    });
    const proc = new ChaosProcess(spec.label, child, log);
    const pidFile = process.env[PID_FILE_ENV];
    if (pidFile !== undefined) appendFileSync(pidFile, pidFileLine(proc.pid));
    return proc;
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few thousand characters of its output. */
  tail(): string {
    return this.tailText;
  }

  /** The ready line; rejects on exit or after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<ReadyLine> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.ready !== null) {
          done();
          resolve(this.ready);
        } else if (!this.running()) {
          done();
          reject(new Error(`${this.label} (pid ${this.pid}) exited before it was ready:\n${this.tailText}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label} (pid ${this.pid}) not ready within ${timeoutMs} ms:\n${this.tailText}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.readyWaiters.delete(check);
      };
      this.readyWaiters.add(check);
      check();
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running()) process.kill(this.pid, signal);
  }

  /** Sends `signal` (default SIGKILL) and waits until the process is gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    this.signal(signal);
    await this.exited;
  }

  /** SIGCONT (a paused process cannot act on SIGTERM), SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    if (!this.running()) return;
    this.signal("SIGCONT");
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
