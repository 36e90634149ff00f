import { execFile } from "node:child_process";

const DEFAULT_TIMEOUT_MS = 10_000;

/** A helper command (ip, nft, ss, chown) that failed; its stderr is the message. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    stderr: string,
  ) {
    super(`\`${command}\` failed (exit ${exitCode ?? "by signal"}): ${stderr.trim()}`);
    this.name = "CommandError";
  }
}

/** Runs a short command to completion (bounded by `timeoutMs`) and returns its stdout. */
export function runCommand(file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const label = [file, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = execFile(file, [...args], { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const code = typeof error.code === "number" ? error.code : null;
      reject(new CommandError(label, code, stderr || error.message));
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}
