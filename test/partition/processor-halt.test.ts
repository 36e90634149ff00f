import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLocalBifrost } from "../../src/bifrost/local/create-local-bifrost.ts";
import { EmbeddedMetadataStore } from "../../src/metadata/embedded-store.ts";
import { CorruptRecordError, RECORD_FORMAT_VERSION, UnsupportedRecordVersionError } from "../../src/partition/records.ts";
import { LogId } from "../../src/types/ids.ts";
import { startInProcess, tempDir } from "../support/reprise.ts";

/** Appends `payload` to partition 0's log of a stopped single node, behind the server's back. */
async function appendBehindTheServersBack(baseDir: string, payload: Uint8Array): Promise<number> {
  const metadata = new EmbeddedMetadataStore(join(baseDir, "metadata.sqlite"));
  const bifrost = await createLocalBifrost(join(baseDir, "bifrost"), metadata);
  try {
    const lsn = await bifrost.append(LogId(0), [payload]);
    return Number(lsn);
  } finally {
    await bifrost.close();
    await metadata.close();
  }
}

for (const [what, payload, errorClass] of [
  ["a record of an unknown format version", new Uint8Array([RECORD_FORMAT_VERSION + 1, 1, 0, 0, 0, 0, 0x80]), UnsupportedRecordVersionError],
  ["a damaged record", new Uint8Array([RECORD_FORMAT_VERSION, 1, 1, 2, 3, 4, 0x80]), CorruptRecordError],
] as const) {
  test(`a partition facing ${what} refuses to start and names its LSN, and never skips it`, async () => {
    const dir = tempDir();
    try {
      const node = await startInProcess(dir.path, { partitions: 1 });
      await node.stop();
      const lsn = await appendBehindTheServersBack(dir.path, payload);
      await assert.rejects(startInProcess(dir.path, { partitions: 1 }), (e: unknown) => {
        assert.ok(e instanceof errorClass, String(e));
        assert.match((e as Error).message, new RegExp(`LSN ${lsn}\\b`));
        return true;
      });
      // A second start meets the same record again: nothing was applied past it.
      await assert.rejects(startInProcess(dir.path, { partitions: 1 }), errorClass);
    } finally {
      dir.remove();
    }
  });
}
