import { randomIdBytes } from "./random-ids.ts";

declare const brand: unique symbol;
/** Nominal typing: a `Brand<number, "Lsn">` is not assignable from a plain number by accident. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Log sequence number. LSN 0 is "before the first record"; the first record is LSN 1. */
export type Lsn = Brand<number, "Lsn">;
export const Lsn = (n: number): Lsn => n as Lsn;
export const LSN_INVALID = Lsn(0);
export const LSN_OLDEST = Lsn(1);

export type LogId = Brand<number, "LogId">;
export const LogId = (n: number): LogId => n as LogId;

/** Index of a segment in a log's chain; the first segment has index 0. */
export type SegmentIndex = Brand<number, "SegmentIndex">;
export const SegmentIndex = (n: number): SegmentIndex => n as SegmentIndex;

export type LeaderEpoch = Brand<number, "LeaderEpoch">;
export const LeaderEpoch = (n: number): LeaderEpoch => n as LeaderEpoch;

export type PartitionId = Brand<number, "PartitionId">;
export const PartitionId = (n: number): PartitionId => n as PartitionId;

/** 64-bit hash of a routing key; stored as bigint because it spans the full u64 range. */
export type PartitionKey = Brand<bigint, "PartitionKey">;
export const PartitionKey = (n: bigint): PartitionKey => n as PartitionKey;

/** Metadata document version; each successful compare-and-swap increments it by one. */
export type Version = Brand<number, "Version">;
export const Version = (n: number): Version => n as Version;
export const VERSION_INVALID = Version(0);

export type PlainNodeId = Brand<number, "PlainNodeId">;
export const PlainNodeId = (n: number): PlainNodeId => n as PlainNodeId;

/** A node id plus the generation it was started with; a restart gets a higher generation. */
export interface GenerationalNodeId {
  readonly id: PlainNodeId;
  readonly generation: number;
}
export const formatNodeId = (n: GenerationalNodeId): string => `N${n.id}:${n.generation}`;

// ---------- base62, the alphabet Restate uses for ids: 0-9a-zA-Z ----------
const BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const U64_WIDTH = 11;
const U128_WIDTH = 22;

/** Digits per Number step: 62^8 < 2^53, so eight digits add up exactly in a double. */
const CHUNK_DIGITS = 8;
/** 62^k as bigint, k = 0..CHUNK_DIGITS. */
const POW62 = Array.from({ length: CHUNK_DIGITS + 1 }, (_, k) => 62n ** BigInt(k));
const CHUNK_BASE = POW62[CHUNK_DIGITS];
/** Digit value per char code, -1 outside the alphabet. */
const DIGIT = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < BASE62.length; i++) table[BASE62.charCodeAt(i)] = i;
  return table;
})();

// Ids are routed, stored and sent many times per invocation: both directions work in Numbers, eight
// digits at a time, instead of one bigint per digit (a bigint operation allocates).
export function base62EncodeFixed(value: bigint, width: number): string {
  let out = "";
  let v = value;
  while (v > 0n) {
    let chunk = Number(v % CHUNK_BASE);
    v /= CHUNK_BASE;
    let digits = "";
    for (let i = 0; i < CHUNK_DIGITS && (chunk > 0 || v > 0n); i++) {
      digits = BASE62[chunk % 62] + digits;
      chunk = Math.floor(chunk / 62);
    }
    out = digits + out;
  }
  return out.padStart(width, "0");
}

export function base62Decode(text: string): bigint {
  let v = 0n;
  for (let start = 0; start < text.length; start += CHUNK_DIGITS) {
    const end = Math.min(text.length, start + CHUNK_DIGITS);
    let chunk = 0;
    for (let i = start; i < end; i++) {
      const code = text.charCodeAt(i);
      const d = code < 128 ? DIGIT[code] : -1;
      if (d < 0) throw new Error(`invalid base62 character '${text[i]}'`);
      chunk = chunk * 62 + d;
    }
    v = v * POW62[end - start] + BigInt(chunk);
  }
  return v;
}

/**
 * An invocation id: the partition key it routes by (u64) plus 128 random bits chosen by the leader
 * (or the ingress) that created it. Text form follows Restate: `inv_1` + base62(pk, 11) + base62(uuid, 22).
 */
export type InvocationId = Brand<string, "InvocationId">;
export const INVOCATION_ID_BYTES = 24;

export function newInvocationId(partitionKey: PartitionKey, random: Uint8Array = randomIdBytes(16)): InvocationId {
  const uuid = BigInt("0x" + Buffer.from(random).toString("hex"));
  return `inv_1${base62EncodeFixed(partitionKey, U64_WIDTH)}${base62EncodeFixed(uuid, U128_WIDTH)}` as InvocationId;
}

export class IdParseError extends Error {
  readonly code = "invalid_id";
  constructor(readonly input: string, reason: string) {
    super(`malformed id '${input}': ${reason}`);
  }
}

export function parseInvocationId(text: string): InvocationId {
  if (!text.startsWith("inv_1")) throw new IdParseError(text, "expected prefix 'inv_1'");
  if (text.length !== 5 + U64_WIDTH + U128_WIDTH) throw new IdParseError(text, "wrong length");
  try {
    const pk = base62Decode(text.slice(5, 5 + U64_WIDTH));
    const uuid = base62Decode(text.slice(5 + U64_WIDTH));
    if (pk >= 1n << 64n || uuid >= 1n << 128n) throw new Error("out of range");
  } catch (e) {
    throw new IdParseError(text, (e as Error).message);
  }
  return text as InvocationId;
}

export function partitionKeyOf(id: InvocationId): PartitionKey {
  return PartitionKey(base62Decode(id.slice(5, 5 + U64_WIDTH)));
}

/** Binary form sent to SDKs in StartMessage.id: 8 bytes partition key BE + 16 bytes uuid BE. */
export function invocationIdToBytes(id: InvocationId): Uint8Array {
  const out = Buffer.alloc(INVOCATION_ID_BYTES);
  out.writeBigUInt64BE(partitionKeyOf(id), 0);
  const uuid = base62Decode(id.slice(5 + U64_WIDTH));
  out.writeBigUInt64BE(uuid >> 64n, 8);
  out.writeBigUInt64BE(uuid & 0xffff_ffff_ffff_ffffn, 16);
  return out;
}

export function invocationIdFromBytes(bytes: Uint8Array): InvocationId {
  if (bytes.length !== INVOCATION_ID_BYTES) throw new IdParseError(Buffer.from(bytes).toString("hex"), "expected 24 bytes");
  const b = Buffer.from(bytes);
  const pk = b.readBigUInt64BE(0);
  const uuid = (b.readBigUInt64BE(8) << 64n) | b.readBigUInt64BE(16);
  return `inv_1${base62EncodeFixed(pk, U64_WIDTH)}${base62EncodeFixed(uuid, U128_WIDTH)}` as InvocationId;
}
