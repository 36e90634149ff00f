import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isTrimGap, type LogEntry } from "../../src/bifrost/bifrost.ts";
import { createLocalBifrost } from "../../src/bifrost/local/create-local-bifrost.ts";
import { decodeDocument, METADATA_KEYS, type Logs } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { LogId, Lsn } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { dec, enc } from "./helpers.ts";

const LOG = LogId(3);
const LOCAL = { provider: "local", params: {} } as const;
const show = (entries: readonly LogEntry[]): unknown[] => entries.map((e) => (isTrimGap(e) ? { gap: [e.lsn, e.trimGapTo] } : [e.lsn, dec(e.payload)]));

describe("trimming drops fully trimmed segments from the chain", () => {
  const tmp = tempDir("reprise-trim-segments-");
  after(() => tmp.remove());

  it("keeps a partly trimmed segment and the tail, drops the ones below, and reads below the chain as a trim gap", async () => {
    const metadata = new InMemoryMetadataStore();
    const dir = join(tmp.path, "a");
    let bifrost = await createLocalBifrost(dir, metadata);
    await bifrost.append(LOG, [enc("1"), enc("2")]);
    await bifrost.sealAndExtend(LOG, LOCAL);
    await bifrost.sealAndExtend(LOG, LOCAL); // an empty segment, based where the next one is
    await bifrost.append(LOG, [enc("3"), enc("4")]);
    await bifrost.sealAndExtend(LOG, LOCAL);
    await bifrost.append(LOG, [enc("5")]);
    const chain = async () => decodeDocument<Logs>((await metadata.get(METADATA_KEYS.logs))!.value).logs[0].segments.map((s) => [s.index, s.baseLsn]);
    assert.deepEqual(await chain(), [[0, 1], [1, 3], [2, 3], [3, 5]]);

    await bifrost.trim(LOG, Lsn(3));
    assert.deepEqual(await chain(), [[2, 3], [3, 5]], "segments 0 and 1 end at LSN 2, at or below the trim point");
    assert.equal(await bifrost.getTrimPoint(LOG), 3);
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(1), 10)), [{ gap: [1, 3] }, [4, "4"], [5, "5"]]);

    // Trimming everything keeps the tail segment: its base says where the next record goes.
    await bifrost.trim(LOG, Lsn(5));
    assert.deepEqual(await chain(), [[3, 5]]);
    assert.equal(await bifrost.getTrimPoint(LOG), 5);
    await bifrost.close();

    // Another process reads the trimmed chain from the document alone.
    bifrost = await createLocalBifrost(dir, metadata);
    assert.equal(await bifrost.getTrimPoint(LOG), 5);
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(2), 10)), [{ gap: [2, 5] }]);
    assert.equal(await bifrost.append(LOG, [enc("6")]), 6);
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(1), 10)), [{ gap: [1, 5] }, [6, "6"]]);
    await bifrost.close();
  });
});
