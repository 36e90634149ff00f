import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tableFromIPC } from "apache-arrow";
import { formatTimestamp, toArrowStream, toJson, type QueryResult } from "../../src/admin/query/result.ts";

const result: QueryResult = {
  columns: [
    { name: "pk", type: { kind: "int", bits: 64, signed: false } },
    { name: "ok", type: { kind: "bool" } },
    { name: "at", type: { kind: "timestamp", utc: true } },
    { name: "raw", type: { kind: "binary" } },
    { name: "waits", type: { kind: "list", item: { kind: "int", bits: 32, signed: false } } },
    { name: "keep", type: { kind: "duration" } },
    { name: "pk", type: { kind: "utf8" } },
  ],
  rows: [
    [18446744073709551615n, true, 1_700_000_000_123, new Uint8Array([0xca, 0xfe]), [1, 2], 86_400_000, "dup"],
    [0n, null, null, null, null, null, null],
  ],
};

describe("query result encoding", () => {
  it("writes JSON rows like arrow-json: NULLs left out, exact 64-bit integers, RFC 3339, hex", () => {
    assert.equal(
      toJson(result),
      '{"rows":[{"pk":18446744073709551615,"ok":true,"at":"2023-11-14T22:13:20.123Z","raw":"cafe","waits":[1,2],"keep":"PT86400S","pk":"dup"},{"pk":0}]}',
    );
  });

  it("drops zero milliseconds from timestamps and the zone from local ones", () => {
    assert.equal(formatTimestamp(1_700_000_000_000, true), "2023-11-14T22:13:20Z");
    assert.equal(formatTimestamp(1_700_000_000_500, false), "2023-11-14T22:13:20.500");
  });

  it("writes an Arrow IPC stream with typed, nullable columns", () => {
    // apache-arrow's JS reader merges fields of the same name (the CLI test reads duplicates), so rename it here.
    const renamed = { ...result, columns: result.columns.map((c, i) => (i === 6 ? { ...c, name: "label" } : c)) };
    const table = tableFromIPC(toArrowStream(renamed));
    assert.deepEqual(
      table.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`),
      ["pk:Uint64:true", "ok:Bool:true", "at:Timestamp<MILLISECOND, +00:00>:true", "raw:LargeBinary:true", "waits:List<Uint32>:true", "keep:Duration<MILLISECOND>:true", "label:LargeUtf8:true"],
    );
    assert.equal(table.numRows, 2);
    assert.equal(table.getChildAt(0)!.get(0), 18446744073709551615n);
    assert.equal(table.getChildAt(2)!.get(0), 1_700_000_000_123);
    assert.deepEqual([...table.getChildAt(4)!.get(0)!], [1, 2]);
    assert.equal(table.getChildAt(6)!.get(0), "dup");
    assert.equal(table.getChildAt(1)!.get(1), null);
  });
});
