/**
 * JSON values whose 64-bit integers are exact: Restate's documents carry u64 fields (partition
 * keys, loglet ids, the cluster fingerprint) that a JS number would round, so those are bigints
 * here and written as plain digits.
 */
export type ExactJson = null | boolean | number | bigint | string | readonly ExactJson[] | { readonly [key: string]: ExactJson };

/** The codec byte of Restate's storage codec that says "JSON follows" (restatectl reads it for any document). */
const STORAGE_CODEC_JSON = 0x05;

/** A metadata blob as restatectl decodes it: the codec byte, then the JSON text. */
export function encodeJsonBlob(value: ExactJson): Uint8Array<ArrayBuffer> {
  return jsonTextBlob(stringifyExact(value));
}

/** The same framing for JSON text that is already written. */
export function jsonTextBlob(json: string): Uint8Array<ArrayBuffer> {
  const text = Buffer.from(json, "utf8");
  const out = new Uint8Array(text.byteLength + 1);
  out[0] = STORAGE_CODEC_JSON;
  out.set(text, 1);
  return out;
}

export function stringifyExact(value: ExactJson): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an exact integer; pass a bigint`);
      return String(value);
    case "boolean":
    case "string":
      return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v: ExactJson) => stringifyExact(v)).join(",")}]`;
  const fields = Object.entries(value as { readonly [key: string]: ExactJson });
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${stringifyExact(v)}`).join(",")}}`;
}
