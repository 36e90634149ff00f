import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { isTrimGap } from "../../src/bifrost/bifrost.ts";
import { createLocalBifrost } from "../../src/bifrost/create-local.ts";
import { decodeDocument, METADATA_KEYS, type Logs } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { LogId, Lsn } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { dec, enc } from "./helpers.ts";

const LOG = LogId(7);

describe("BifrostImpl on local loglets", () => {
  const tmp = tempDir("reprise-bifrost-");
  after(() => tmp.remove());

  it("creates the log on first use and appends/reads by LSN across a restart", async () => {
    const dir = `${tmp.path}/basic`;
    const metadata = new InMemoryMetadataStore();
    let bifrost = await createLocalBifrost(dir, metadata);
    assert.equal(await bifrost.findTail(LOG), 1);
    assert.equal(await bifrost.append(LOG, [enc("a"), enc("b")]), 2);
    assert.equal(await bifrost.append(LOG, [enc("c")]), 3);
    const logs = decodeDocument<Logs>((await metadata.get(METADATA_KEYS.logs))!.value);
    assert.deepEqual(logs.logs, [{ logId: LOG, segments: [{ index: 0, baseLsn: 1, provider: "local", params: {} }] }]);
    await bifrost.close();

    bifrost = await createLocalBifrost(dir, metadata);
    const entries = await bifrost.read(LOG, Lsn(2), 10);
    assert.deepEqual(
      entries.map((e) => (isTrimGap(e) ? e : [e.lsn, dec(e.payload)])),
      [[2, "b"], [3, "c"]],
    );
    assert.equal(await bifrost.findTail(LOG), 4);
    await bifrost.close();
  });
});
