import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { LocalLoglet, type LocalLogletOptions } from "../../src/bifrost/local/local-loglet.ts";
import { LogletOffset, type LogletEntry, type LogletRecord } from "../../src/bifrost/loglet.ts";

export const enc = (s: string): Uint8Array => Buffer.from(s, "utf8");
export const dec = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

export function openLoglet(dir: string, options: LocalLogletOptions = {}): Promise<LocalLoglet> {
  return LocalLoglet.open("test", dir, options);
}

export function records(entries: readonly LogletEntry[]): LogletRecord[] {
  return entries.map((e) => {
    if ("trimGapTo" in e) throw new Error(`unexpected trim gap at ${e.offset}`);
    return e;
  });
}

/** Reads every record from `from` to the committed tail, in as many calls as it takes. */
export async function readAll(loglet: LocalLoglet, from = 1): Promise<LogletEntry[]> {
  const out: LogletEntry[] = [];
  let next = from;
  for (;;) {
    const batch = await loglet.read(LogletOffset(next), 1000);
    if (batch.length === 0) return out;
    out.push(...batch);
    const last = batch[batch.length - 1];
    next = ("trimGapTo" in last ? last.trimGapTo : last.offset) + 1;
  }
}

/** A deterministic payload per sequence number, 100..2099 bytes, so a reader can check content without a copy. */
export function payloadFor(seq: number): Uint8Array {
  const len = 100 + ((seq * 7919) % 2000);
  const out = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) out[i] = (seq * 31 + i * 17) & 0xff;
  out.writeUInt32LE(seq, 0);
  return out;
}

/** A pino logger whose lines are kept in memory, to assert on warnings. */
export function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = pino({ level: "info" }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
