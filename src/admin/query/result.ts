import * as arrow from "apache-arrow";

/**
 * The type of a result column, in the terms Restate's clients read them: Arrow types on the Arrow
 * stream, arrow-json's rendering on the JSON response.
 */
export type ValueType =
  | { readonly kind: "null" }
  | { readonly kind: "bool" }
  | { readonly kind: "int"; readonly bits: 8 | 16 | 32 | 64; readonly signed: boolean }
  | { readonly kind: "float" }
  | { readonly kind: "utf8" }
  | { readonly kind: "binary" }
  /** Milliseconds since the epoch; `utc` marks an instant (Restate's columns), else a local date-time. */
  | { readonly kind: "timestamp"; readonly utc: boolean }
  /** Days since the epoch. */
  | { readonly kind: "date" }
  /** Milliseconds. */
  | { readonly kind: "duration" }
  | { readonly kind: "list"; readonly item: ValueType };

/** A cell: 64-bit integers are bigints, other numbers plain numbers, lists arrays. */
export type Value = null | boolean | number | bigint | string | Uint8Array | readonly Value[];

export interface QueryResult {
  readonly columns: readonly { readonly name: string; readonly type: ValueType }[];
  /** Row-major cells, in column order. */
  readonly rows: readonly (readonly Value[])[];
}

export const JSON_CONTENT_TYPE = "application/json";
export const ARROW_STREAM_CONTENT_TYPE = "application/vnd.apache.arrow.stream";

/**
 * `{"rows": [...]}` as Restate writes it with arrow-json: one object per row, NULL cells left out,
 * timestamps in RFC 3339, binary as hex.
 */
export function toJson(result: QueryResult): string {
  const keys = result.columns.map((c) => JSON.stringify(c.name));
  const rows = result.rows.map((row) => {
    const cells: string[] = [];
    row.forEach((value, i) => {
      if (value !== null) cells.push(`${keys[i]}:${jsonValue(value, result.columns[i]!.type)}`);
    });
    return `{${cells.join(",")}}`;
  });
  return `{"rows":[${rows.join(",")}]}`;
}

function jsonValue(value: Value, type: ValueType): string {
  if (value === null) return "null";
  switch (type.kind) {
    case "int":
      // bigints are written as exact JSON numbers, as arrow-json does.
      return String(value);
    case "timestamp":
      return JSON.stringify(formatTimestamp(value as number, type.utc));
    case "date":
      return JSON.stringify(new Date((value as number) * 86_400_000).toISOString().slice(0, 10));
    case "duration":
      return JSON.stringify(`PT${(value as number) / 1000}S`);
    case "binary":
      return JSON.stringify(Buffer.from(value as Uint8Array).toString("hex"));
    case "list":
      return `[${(value as readonly Value[]).map((v) => jsonValue(v, type.item)).join(",")}]`;
    default:
      return JSON.stringify(value);
  }
}

/** RFC 3339 with `Z` for instants, like arrow's display: fractional seconds only when non-zero. */
export function formatTimestamp(ms: number, utc: boolean): string {
  const iso = new Date(ms).toISOString().replace(/\.000Z$/, "Z");
  return utc ? iso : iso.slice(0, -1);
}

/** The result as an Arrow IPC stream: the schema, then one record batch (none when empty). */
export function toArrowStream(result: QueryResult): Uint8Array {
  const fields = result.columns.map((c) => new arrow.Field(c.name, arrowType(c.type), true));
  const schema = new arrow.Schema(fields);
  const writer = new arrow.RecordBatchStreamWriter();
  if (result.rows.length === 0) {
    writer.reset(undefined, schema);
  } else {
    const children = result.columns.map((c, i) => {
      const builder = arrow.makeBuilder({ type: fields[i]!.type, nullValues: [null] });
      for (const row of result.rows) builder.append(arrowValue(row[i]!, c.type));
      return builder.finish().flush();
    });
    const data = arrow.makeData({ type: new arrow.Struct(fields), length: result.rows.length, nullCount: 0, children });
    const batch = new arrow.RecordBatch(schema, data);
    // The constructor re-derives the schema with Schema.assign, which merges fields of the same
    // name; result columns may share one (`SELECT s.id, j.id`), so the real schema is put back.
    Object.assign(batch, { schema });
    writer.write(batch);
  }
  writer.finish();
  return writer.toUint8Array(true);
}

function arrowType(type: ValueType): arrow.DataType {
  switch (type.kind) {
    case "null":
      return new arrow.Null();
    case "bool":
      return new arrow.Bool();
    case "int":
      return new arrow.Int(type.signed, type.bits);
    case "float":
      return new arrow.Float64();
    // Restate's columns are all the 64-bit-offset variants; DuckDB does not tell a computed text (a
    // literal, which DataFusion would type Utf8) from a column's, so every text and binary is Large.
    case "utf8":
      return new arrow.LargeUtf8();
    case "binary":
      return new arrow.LargeBinary();
    case "timestamp":
      return new arrow.TimestampMillisecond(type.utc ? "+00:00" : null);
    case "date":
      return new arrow.DateDay();
    case "duration":
      return new arrow.DurationMillisecond();
    case "list":
      return new arrow.List(new arrow.Field("item", arrowType(type.item), true));
  }
}

/** Builders want Dates for dates, bigints for 64-bit durations and arrays for lists. */
function arrowValue(value: Value, type: ValueType): unknown {
  if (value === null) return null;
  switch (type.kind) {
    case "date":
      return new Date((value as number) * 86_400_000);
    case "duration":
      return BigInt(Math.round(value as number));
    case "list":
      return (value as readonly Value[]).map((v) => arrowValue(v, type.item));
    default:
      return value;
  }
}
