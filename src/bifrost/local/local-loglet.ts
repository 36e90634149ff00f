import { constants as fsConstants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { rootLogger, type Logger } from "../../common/logger.ts";
import { CorruptionError, PayloadTooLargeError, RepriseError, UnavailableError } from "../../types/errors.ts";
import {
  LogletOffset,
  SealedError,
  type Loglet,
  type LogletEntry,
  type LogletRecord,
  type LogletTail,
} from "../loglet.ts";
import { checkFrame, FRAME_HEADER_BYTES, framePayload, writeFrame } from "./frame.ts";
import { scanDataFile } from "./scan.ts";
import { DEFAULT_TAIL_CACHE_BYTES, TailCache } from "../tail-cache.ts";

export interface LocalLogletOptions {
  /** A new data file is started once the active one would pass this size, so a trimmed prefix can be deleted file by file. */
  readonly rollBytes?: number;
  /** Payload bytes of the newest records kept in memory, so readers following the tail never touch the disk. */
  readonly tailCacheBytes?: number;
  /** Upper bound on the bytes of one group-commit write. */
  readonly maxBatchBytes?: number;
  /**
   * Writes a batch's bytes at a position of the active data file and resolves once they are on
   * disk; each batch awaits it before its appends are acknowledged. `writeDurably` unless given: a
   * replacement may wrap it (to count or time durable writes) but must await it, or acknowledged
   * records can be lost in a crash.
   */
  readonly writeDataFile?: (file: FileHandle, bytes: Uint8Array, position: number) => Promise<void>;
  readonly logger?: Logger;
}

export const MAX_RECORD_BYTES = 32 << 20;
const DEFAULT_ROLL_BYTES = 64 << 20;
/**
 * A trim frees whole files only, never the active one: once this many bytes of the active file are
 * trimmed, the next append starts a new file, so the next trim can delete the old one.
 */
const ROLL_AFTER_TRIMMED_BYTES = 1 << 20;
const DEFAULT_MAX_BATCH_BYTES = 4 << 20;
/** Bytes read from a data file per pread when a reader is behind the cached tail. */
const READ_CHUNK_BYTES = 1 << 20;
const STATE_FILE = "loglet.json";
const DATA_FILE = /^(\d{20})\.log$/;

/** A write or fsync failed: what reached the disk is unknown, so the loglet refuses further appends until reopened. */
export class LogletIoError extends RepriseError {
  constructor(logletId: string, cause: unknown) {
    super("loglet_io_error", `loglet ${logletId}: write failed; reopen to recover from what is on disk`, false, 500, { cause });
  }
}

interface PersistedState {
  /** Highest trimmed offset, 0 if none. */
  readonly trimPoint: number;
  /** The tail (next offset) fixed by seal, null while open for appends. */
  readonly sealedTail: number | null;
}

interface DataFile {
  readonly firstOffset: number;
  readonly path: string;
  /** Byte position of each committed record, indexed by offset - firstOffset. */
  readonly positions: number[];
  /** Committed bytes. */
  size: number;
}

interface PendingAppend {
  readonly payloads: readonly Uint8Array[];
  readonly bytes: number;
  readonly resolve: (last: LogletOffset) => void;
  readonly reject: (e: unknown) => void;
}

interface TailWaiter {
  readonly offset: number;
  readonly resolve: (tail: LogletTail) => void;
  readonly reject: (e: unknown) => void;
  readonly cleanup: () => void;
}

const dataFileName = (firstOffset: number): string => `${String(firstOffset).padStart(20, "0")}.log`;

/**
 * Data files are written with O_DSYNC: a write returns once its bytes (and the file size that
 * reaches them) are on disk, what a write followed by fdatasync gives, in one job of libuv's
 * thread pool instead of two with a turn of the event loop in between. The main thread submitted
 * two jobs per batch before; one now (LocalLoglet, 1 appender: 2600 -> 3300 appends/s, process
 * CPU per append 210 -> 160 us).
 */
function dataFileWriteFlags(): number {
  if (fsConstants.O_DSYNC === undefined) throw new RepriseError("o_dsync_unavailable", "the local loglet needs O_DSYNC, which this platform does not have", false, 500);
  return fsConstants.O_RDWR | fsConstants.O_DSYNC;
}

/** Writes `bytes` at `position` of a data file opened by the loglet (O_DSYNC): resolves once they are on disk. */
export async function writeDurably(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * A loglet in one directory of local, append-only data files named by their first offset. Appends
 * are group-committed: everything queued while a durable write is in flight goes into the next
 * single durable write (O_DSYNC), and a promise resolves only after its records are on disk.
 */
export class LocalLoglet implements Loglet {
  private readonly rollBytes: number;
  private readonly maxBatchBytes: number;
  private readonly writeDataFile: (file: FileHandle, bytes: Uint8Array, position: number) => Promise<void>;

  private readonly files: DataFile[];
  private activeFh: FileHandle | null = null;
  /** Next offset to commit; only records below it are visible to readers. */
  private nextOffset: number;
  private trimPoint: number;
  private sealedTail: number | null;

  private queue: PendingAppend[] = [];
  private writing: Promise<void> | null = null;
  private sealing: Promise<LogletTail> | null = null;
  /** Set by a trim that left enough trimmed bytes in the active file (see `ROLL_AFTER_TRIMMED_BYTES`). */
  private rollPending = false;
  private failure: LogletIoError | null = null;
  private closed = false;
  /** What the state file holds; rewrites (seal and trim) are serialised through `stateWrite`. */
  private persisted: PersistedState;
  private stateWrite: Promise<void> = Promise.resolve();

  /** Recent payloads, up to the committed tail. */
  private readonly cache: TailCache;

  private waiters: TailWaiter[] = [];

  private constructor(
    readonly id: string,
    private readonly dir: string,
    state: PersistedState,
    files: DataFile[],
    nextOffset: number,
    private readonly log: Logger,
    options: LocalLogletOptions,
  ) {
    this.rollBytes = options.rollBytes ?? DEFAULT_ROLL_BYTES;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.writeDataFile = options.writeDataFile ?? writeDurably;
    this.persisted = state;
    this.trimPoint = state.trimPoint;
    this.sealedTail = state.sealedTail;
    this.files = files;
    this.nextOffset = nextOffset;
    this.cache = new TailCache(nextOffset, options.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES);
  }

  /** Opens (creating if absent) the loglet stored in `dir`, checking every record and cutting a torn tail. */
  static async open(id: string, dir: string, options: LocalLogletOptions = {}): Promise<LocalLoglet> {
    const log = (options.logger ?? rootLogger).child({ loglet: id });
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined) await fsyncCreatedDirs(created, dir);

    const state = await readState(dir);
    const names = await readdir(dir);
    const found = names
      .map((n) => DATA_FILE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ firstOffset: Number(m[1]), path: join(dir, m[0]) }))
      .sort((a, b) => a.firstOffset - b.firstOffset);
    if (names.includes(`${STATE_FILE}.tmp`)) await unlink(join(dir, `${STATE_FILE}.tmp`));

    // A crash between persisting a trim point and deleting the files below it leaves them behind.
    while (found.length > 1 && found[1].firstOffset <= state.trimPoint + 1) {
      const f = found.shift()!;
      await unlink(f.path);
      log.info({ file: f.path, trimPoint: state.trimPoint }, "deleted data file left behind by an interrupted trim");
    }

    const files: DataFile[] = [];
    let nextOffset = 1;
    for (const [i, f] of found.entries()) {
      if (i > 0 && f.firstOffset !== nextOffset) {
        throw new CorruptionError(`loglet ${id}: data file ${f.path} starts at offset ${f.firstOffset}, expected ${nextOffset}`);
      }
      const scan = await scanDataFile(f.path, f.firstOffset, i === found.length - 1);
      if (scan.tornReason !== null) {
        const fh = await open(f.path, "r+");
        try {
          await fh.truncate(scan.validBytes);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        log.warn(
          { file: f.path, offset: f.firstOffset + scan.positions.length, cutBytes: scan.fileBytes - scan.validBytes, reason: scan.tornReason },
          "cut torn tail of loglet data file",
        );
      }
      files.push({ ...f, positions: scan.positions, size: scan.validBytes });
      nextOffset = f.firstOffset + scan.positions.length;
    }
    const firstKept = files[0]?.firstOffset ?? 1;
    if (firstKept > state.trimPoint + 1 || nextOffset < state.trimPoint + 1) {
      throw new CorruptionError(`loglet ${id}: trim point ${state.trimPoint} does not match data files holding [${firstKept}, ${nextOffset})`);
    }
    if (state.sealedTail !== null && state.sealedTail !== nextOffset) {
      throw new CorruptionError(`loglet ${id}: sealed at tail ${state.sealedTail} but its files end at ${nextOffset}`);
    }
    const loglet = new LocalLoglet(id, dir, state, files, nextOffset, log, options);
    const newest = files.at(-1);
    if (newest !== undefined) loglet.activeFh = await open(newest.path, dataFileWriteFlags());
    return loglet;
  }

  append(payloads: readonly Uint8Array[]): Promise<LogletOffset> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.sealing !== null || this.sealedTail !== null) return Promise.reject(new SealedError(this.id));
    let bytes = 0;
    for (const p of payloads) {
      if (p.length > MAX_RECORD_BYTES) return Promise.reject(new PayloadTooLargeError(`record of ${p.length} bytes exceeds ${MAX_RECORD_BYTES}`));
      bytes += FRAME_HEADER_BYTES + p.length;
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ payloads, bytes, resolve, reject });
      this.writing ??= this.writeLoop();
    });
  }

  async read(from: LogletOffset, limit: number): Promise<LogletEntry[]> {
    if (this.closed) throw this.closedError();
    const out: LogletEntry[] = [];
    let offset = Math.max(from, 1);
    if (limit <= 0) return out;
    if (offset <= this.trimPoint) {
      out.push({ offset: LogletOffset(offset), trimGapTo: LogletOffset(this.trimPoint) });
      offset = this.trimPoint + 1;
    }
    while (out.length < limit && offset < this.nextOffset) {
      if (offset >= this.cache.firstOffset) {
        const end = Math.min(this.nextOffset, offset + limit - out.length);
        for (; offset < end; offset++) out.push({ offset: LogletOffset(offset), payload: this.cache.get(offset)! });
        continue;
      }
      const records = await this.readFromFile(offset, Math.min(limit - out.length, this.cache.firstOffset - offset));
      // The file was deleted under us by a trim: start over, which now yields a trim gap.
      if (records === null) return out.length === 0 ? this.read(LogletOffset(offset), limit) : out;
      for (const r of records) out.push(r);
      offset += records.length;
    }
    return out;
  }

  tailPast(offset: LogletOffset): LogletTail | null {
    return this.nextOffset > offset || this.sealedTail !== null ? this.tail() : null;
  }

  waitForTail(offset: LogletOffset, signal?: AbortSignal): Promise<LogletTail> {
    const now = this.tailPast(offset);
    if (now !== null) return Promise.resolve(now);
    if (this.closed) return Promise.reject(this.closedError());
    // Rejects rather than throws: callers handle a failed wait in one place.
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter: TailWaiter = { offset, resolve, reject, cleanup: () => signal?.removeEventListener("abort", onAbort) };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  async findTail(): Promise<LogletTail> {
    if (this.closed) throw this.closedError();
    return this.tail();
  }

  seal(): Promise<LogletTail> {
    if (this.sealedTail !== null) return Promise.resolve(this.tail());
    if (this.closed) return Promise.reject(this.closedError());
    this.sealing ??= this.doSeal().finally(() => {
      this.sealing = null;
    });
    return this.sealing;
  }

  async trim(upTo: LogletOffset): Promise<void> {
    if (this.closed) throw this.closedError();
    const target = Math.min(upTo, this.nextOffset - 1);
    if (target <= this.trimPoint) return;
    await this.persistState((s) => (target > s.trimPoint ? { ...s, trimPoint: target } : s));
    this.trimPoint = Math.max(this.trimPoint, target);
    this.cache.evictThrough(this.trimPoint);
    // The newest file stays even when fully trimmed: its name records where the next append goes.
    let deleted = false;
    while (this.files.length > 1 && this.files[1].firstOffset <= this.trimPoint + 1) {
      const f = this.files.shift()!;
      await unlink(f.path);
      deleted = true;
      this.log.debug({ file: f.path, trimPoint: this.trimPoint }, "deleted trimmed data file");
    }
    if (deleted) await fsyncDir(this.dir);
    const active = this.files.at(-1);
    if (active !== undefined && active.firstOffset <= this.trimPoint) {
      const firstKept = this.trimPoint + 1 - active.firstOffset;
      const trimmedBytes = firstKept < active.positions.length ? active.positions[firstKept] : active.size;
      if (trimmedBytes >= ROLL_AFTER_TRIMMED_BYTES) this.rollPending = true;
    }
  }

  async getTrimPoint(): Promise<LogletOffset> {
    return LogletOffset(this.trimPoint);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Appends accepted before close are still written and acknowledged.
    await this.writing;
    await this.stateWrite;
    await this.activeFh?.close();
    this.activeFh = null;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w.cleanup();
      w.reject(this.closedError());
    }
  }

  private tail(): LogletTail {
    return { nextOffset: LogletOffset(this.nextOffset), sealed: this.sealedTail !== null };
  }

  private closedError(): UnavailableError {
    return new UnavailableError(`loglet ${this.id} is closed`, "loglet_closed");
  }

  private async doSeal(): Promise<LogletTail> {
    // Appends not yet handed to the disk fail now; the one in flight finishes and stays in the log.
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) p.reject(new SealedError(this.id));
    await this.writing;
    if (this.failure !== null) throw this.failure;
    const tail = this.nextOffset;
    await this.persistState((s) => ({ ...s, sealedTail: tail }));
    this.sealedTail = tail;
    this.notifyWaiters();
    this.log.info({ tail }, "loglet sealed");
    return this.tail();
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || bytes + this.queue[n].bytes <= this.maxBatchBytes)) bytes += this.queue[n++].bytes;
      const batch = this.queue.splice(0, n);
      try {
        await this.writeBatch(batch, bytes);
      } catch (e) {
        this.failure = new LogletIoError(this.id, e);
        this.log.error({ err: e }, "loglet write failed; refusing further appends");
        for (const p of [...batch, ...this.queue.splice(0)]) p.reject(this.failure);
      }
    }
    // Cleared synchronously with the emptiness check so a concurrent append always restarts the loop.
    this.writing = null;
  }

  private async writeBatch(batch: PendingAppend[], bytes: number): Promise<void> {
    const first = this.nextOffset;
    const buf = Buffer.allocUnsafe(bytes);
    const positions: number[] = [];
    const payloads: Uint8Array[] = [];
    let pos = 0;
    let offset = first;
    for (const p of batch) {
      for (const payload of p.payloads) {
        positions.push(pos);
        const end = writeFrame(buf, pos, offset++, payload);
        payloads.push(framePayload(buf, pos, end));
        pos = end;
      }
    }

    let file = this.files.at(-1);
    if (file === undefined || this.activeFh === null || this.rollPending || (file.size > 0 && file.size + bytes > this.rollBytes)) {
      this.rollPending = false;
      file = await this.startFile(first);
    }
    await this.writeDataFile(this.activeFh!, buf, file.size);

    for (const p of positions) file.positions.push(file.size + p);
    file.size += bytes;
    this.nextOffset = offset;
    this.cache.push(payloads);
    let last = first - 1;
    for (const p of batch) {
      last += p.payloads.length;
      p.resolve(LogletOffset(last));
    }
    this.notifyWaiters();
  }

  private async startFile(firstOffset: number): Promise<DataFile> {
    const path = join(this.dir, dataFileName(firstOffset));
    const fh = await open(path, dataFileWriteFlags() | fsConstants.O_CREAT | fsConstants.O_EXCL);
    // The directory entry must be durable before records in the file are acknowledged.
    await fsyncDir(this.dir);
    const previous = this.activeFh;
    this.activeFh = fh;
    await previous?.close();
    const file: DataFile = { firstOffset, path, positions: [], size: 0 };
    this.files.push(file);
    return file;
  }

  /** Records from `from` out of its data file, at most `max`; null if a trim has meanwhile dropped `from`. */
  private async readFromFile(from: number, max: number): Promise<LogletRecord[] | null> {
    if (from <= this.trimPoint) return null;
    const file = this.fileOf(from);
    const first = from - file.firstOffset;
    const endOf = (i: number): number => (i + 1 < file.positions.length ? file.positions[i + 1] : file.size);
    const start = file.positions[first];
    let last = first;
    const lastAllowed = Math.min(file.positions.length, first + max) - 1;
    while (last < lastAllowed && endOf(last + 1) - start <= READ_CHUNK_BYTES) last++;
    const length = endOf(last) - start;

    let fh: FileHandle;
    try {
      fh = await open(file.path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && from <= this.trimPoint) return null;
      throw e;
    }
    const buf = Buffer.allocUnsafe(length);
    try {
      const { bytesRead } = await fh.read(buf, 0, length, start);
      if (bytesRead !== length) throw new CorruptionError(`${file.path}: short read at byte ${start} (${bytesRead} of ${length})`);
    } finally {
      await fh.close();
    }
    const out: LogletRecord[] = [];
    for (let i = first, pos = 0; i <= last; i++) {
      const offset = file.firstOffset + i;
      const check = checkFrame(buf.subarray(0, endOf(i) - start), pos, offset);
      if (!check.ok) throw new CorruptionError(`${file.path}: record ${offset} at byte ${start + pos}: ${check.reason}`);
      out.push({ offset: LogletOffset(offset), payload: framePayload(buf, pos, check.end) });
      pos = check.end;
    }
    return out;
  }

  private fileOf(offset: number): DataFile {
    let lo = 0;
    let hi = this.files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.files[mid].firstOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.files[lo];
  }

  private notifyWaiters(): void {
    const tail = this.tail();
    const sealed = this.sealedTail !== null;
    const ready = this.waiters.filter((w) => sealed || w.offset < this.nextOffset);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) {
      w.cleanup();
      w.resolve(tail);
    }
  }

  private persistState(update: (s: PersistedState) => PersistedState): Promise<void> {
    const run = this.stateWrite.then(async () => {
      const next = update(this.persisted);
      await writeStateFile(this.dir, next);
      this.persisted = next;
    });
    // A failed write must not wedge later ones; the failure reaches this caller through `run`.
    this.stateWrite = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

async function readState(dir: string): Promise<PersistedState> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { trimPoint: 0, sealedTail: null };
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CorruptionError(`${join(dir, STATE_FILE)}: ${(e as Error).message}`);
  }
  const s = parsed as Partial<PersistedState> | null;
  if (
    typeof s !== "object" ||
    s === null ||
    !Number.isSafeInteger(s.trimPoint) ||
    !(s.sealedTail === null || Number.isSafeInteger(s.sealedTail))
  ) {
    throw new CorruptionError(`${join(dir, STATE_FILE)}: unexpected content ${text.slice(0, 200)}`);
  }
  return { trimPoint: s.trimPoint!, sealedTail: s.sealedTail ?? null };
}

/** Replaces the state file atomically: write a temporary file, fsync it, rename over, fsync the directory. */
async function writeStateFile(dir: string, state: PersistedState): Promise<void> {
  const tmp = join(dir, `${STATE_FILE}.tmp`);
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(JSON.stringify(state));
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, STATE_FILE));
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** After `mkdir -p` created `created` .. `dir`, makes each new entry durable in its parent. */
async function fsyncCreatedDirs(created: string, dir: string): Promise<void> {
  await fsyncDir(dirname(created));
  let path = created;
  for (const part of relative(created, dir).split(sep).filter((p) => p !== "")) {
    await fsyncDir(path);
    path = join(path, part);
  }
}
