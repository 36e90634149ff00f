import { Packr } from "msgpackr";
import { crc32 } from "node:zlib";
import { CorruptionError } from "../types/errors.ts";
import type { Lsn } from "../types/ids.ts";
import { checkCommand, checkEnvelope, checkOutboxMessage, ShapeError } from "./record-shape.ts";
import type { Command, Envelope, OutboxMessage } from "./record-types.ts";

export type * from "./record-types.ts";
export { outboxDestination } from "./record-types.ts";

/**
 * Bytes of a partition log record and of an outbox entry (docs/architecture.md, "Record format"):
 *
 *   [u8 format version][u8 kind][u32 LE crc32 of the body][body: msgpack]
 *
 * The version lets a future Reprise change the body while an older one refuses what it cannot read
 * instead of misreading it; the kind (log record, outbox entry, command forwarded to a partition's
 * leader) keeps one from ever being taken for another;
 * the checksum catches a damaged body that msgpack would still decode. Loglets checksum their own
 * frames too, but a record also travels through log servers, caches and the outbox table.
 */
export const RECORD_FORMAT_VERSION = 1;
const HEADER_BYTES = 6;

const enum RecordKind {
  LogRecord = 1,
  OutboxMessage = 2,
  /** A command sent to the node leading its partition, which gives it a header and appends it. */
  ForwardedCommand = 3,
}

/** A record or outbox entry failed its checksum or its shape check. */
export class CorruptRecordError extends CorruptionError {
  constructor(where: string, reason: string) {
    super(`${where} is corrupt: ${reason}`, "corrupt_record");
  }
}

/** Written by a Reprise with a newer record format: this one must not guess at its meaning. */
export class UnsupportedRecordVersionError extends CorruptionError {
  constructor(where: string, version: number) {
    super(
      `${where} has record format version ${version}; this Reprise reads version ${RECORD_FORMAT_VERSION} only (upgrade it to read this log)`,
      "unsupported_record_version",
    );
  }
}

const packr = new Packr({ useRecords: false, moreTypes: false });

function encode(kind: RecordKind, value: unknown): Uint8Array {
  const body = packr.pack(value);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out[0] = RECORD_FORMAT_VERSION;
  out[1] = kind;
  out.writeUInt32LE(crc32(body), 2);
  body.copy(out, HEADER_BYTES);
  return out;
}

function decode(kind: RecordKind, bytes: Uint8Array, where: string): unknown {
  if (bytes.length < HEADER_BYTES) throw new CorruptRecordError(where, `${bytes.length} bytes is shorter than the record header`);
  if (bytes[0] !== RECORD_FORMAT_VERSION) throw new UnsupportedRecordVersionError(where, bytes[0]);
  if (bytes[1] !== kind) throw new CorruptRecordError(where, `kind ${bytes[1]}, expected ${kind}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const body = buf.subarray(HEADER_BYTES);
  if (crc32(body) !== buf.readUInt32LE(2)) throw new CorruptRecordError(where, "checksum mismatch");
  try {
    return packr.unpack(body);
  } catch (e) {
    throw new CorruptRecordError(where, (e as Error).message);
  }
}

function checked<T>(check: (v: unknown) => asserts v is T, value: unknown, where: string): T {
  try {
    check(value);
  } catch (e) {
    if (e instanceof ShapeError) throw new CorruptRecordError(where, e.message);
    throw e;
  }
  return value;
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  return encode(RecordKind.LogRecord, e);
}

/** Decodes and checks the record at `lsn` of a partition log; damage or an unknown version throws. */
export function decodeEnvelope(bytes: Uint8Array, lsn: Lsn): Envelope {
  const where = `log record at LSN ${lsn}`;
  return checked(checkEnvelope, decode(RecordKind.LogRecord, bytes, where), where);
}

export function encodeOutboxMessage(m: OutboxMessage): Uint8Array {
  return encode(RecordKind.OutboxMessage, m);
}

/** Decodes and checks outbox entry `seq`; damage or an unknown version throws. */
export function decodeOutboxMessage(bytes: Uint8Array, seq: number): OutboxMessage {
  const where = `outbox entry ${seq}`;
  return checked(checkOutboxMessage, decode(RecordKind.OutboxMessage, bytes, where), where);
}

export function encodeForwardedCommand(c: Command): Uint8Array {
  return encode(RecordKind.ForwardedCommand, c);
}

/** Decodes and checks a command forwarded by `from`; damage or an unknown version throws. */
export function decodeForwardedCommand(bytes: Uint8Array, from: string): Command {
  const where = `command forwarded by ${from}`;
  return checked(checkCommand, decode(RecordKind.ForwardedCommand, bytes, where), where);
}
