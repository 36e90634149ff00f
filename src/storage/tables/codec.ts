import type Database from "better-sqlite3";
import { Packr } from "msgpackr";
import { CorruptionError, errorMessage } from "../../types/errors.ts";

/** Values are msgpack; a separate instance so its options never depend on another module's. */
const packr = new Packr({ useRecords: false, moreTypes: false });

export const pack = (v: unknown): Buffer => packr.pack(v);

/** A body that does not decode means the store file is damaged, which no retry can fix. */
export function unpackBody<T>(db: Database.Database, body: Buffer, what: string): T {
  try {
    return packr.unpack(body) as T;
  } catch (e) {
    throw new CorruptionError(`cannot decode ${what} in ${db.name}: ${errorMessage(e)}`);
  }
}

/** A result row of a multi-column statement, columns by name. */
export type Row = Record<string, unknown>;

/** What `unpack(pack(v))` cannot be told without running it (see `roundTripFrozen`). */
export const NOT_MODELLED: unique symbol = Symbol("not modelled");

/**
 * What `unpack(pack(v))` gives, frozen like a decoded status is, without encoding: a Uint8Array
 * comes back as a Buffer (a copy), -0 as 0, every object as a plain one with the same keys, and
 * the rest as it was. Only for the values this is known to be true of: plain objects and arrays,
 * well-formed strings, numbers, booleans, null, undefined, Buffers and Uint8Arrays. Anything else
 * (a lone surrogate, which UTF-8 turns into U+FFFD; a bigint, Date, Map or class instance; another
 * typed array; a `__proto__` key) answers NOT_MODELLED and needs the real round trip. A test
 * compares the two over generated values.
 */
export function roundTripFrozen(v: unknown): unknown {
  try {
    return copyFrozen(v);
  } catch (e) {
    if (e === NOT_MODELLED) return NOT_MODELLED;
    throw e;
  }
}

function copyFrozen(v: unknown): unknown {
  switch (typeof v) {
    case "string":
      if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) throw NOT_MODELLED;
      return v;
    case "number":
      return v === 0 ? 0 : v;
    case "boolean":
    case "undefined":
      return v;
    case "object": {
      if (v === null) return null;
      if (Array.isArray(v)) {
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) out[i] = copyFrozen(v[i]);
        return Object.freeze(out);
      }
      const proto = Object.getPrototypeOf(v);
      if (proto === Buffer.prototype || proto === Uint8Array.prototype) return Buffer.from(v as Uint8Array);
      if (proto !== Object.prototype && proto !== null) throw NOT_MODELLED;
      const out: Record<string, unknown> = {};
      for (const k in v) {
        if (k === "__proto__") throw NOT_MODELLED;
        out[k] = copyFrozen((v as Record<string, unknown>)[k]);
      }
      return Object.freeze(out);
    }
    default:
      throw NOT_MODELLED;
  }
}
