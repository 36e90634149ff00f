import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { InvocationStatus } from "../../src/types/invocation.ts";
import { fileStore, invocation, invocationId } from "./fixtures.ts";

const rowBody = (path: string, id: string): Buffer | undefined => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[string], Buffer>("SELECT body FROM invocation_status WHERE id = ?").pluck().get(id);
  } finally {
    db.close();
  }
};

describe("invocation statuses between the apply path and SQLite", () => {
  it("answers a read, in the same write and later, with what a fresh decode of the stored body gives", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    // A Uint8Array and -0 come back from the body as a Buffer and 0: the object put is never handed out.
    const put: InvocationStatus = { ...invocation(id, "completed"), result: { kind: "success", value: new Uint8Array([1, 2, 3]) }, modifiedAt: -0 };
    const inWrite = store.write((tx) => {
      tx.putInvocation(put);
      return tx.getInvocation(id);
    });
    const later = store.read((tx) => tx.getInvocation(id));
    for (const read of [inWrite, later]) {
      assert.notEqual(read, put);
      assert.ok(read?.result?.kind === "success" && Buffer.isBuffer(read.result.value), "the value reads back as a Buffer");
      assert.ok(Object.is(read.modifiedAt, 0));
      assert.deepEqual(read, { ...put, result: { kind: "success", value: Buffer.from([1, 2, 3]) }, modifiedAt: 0 });
    }
  });

  it("writes an invocation's last status of a transaction once, before it commits; queries in it see it", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    // Counts the row writes SQLite makes, whichever connection makes them.
    const tool = new Database(store.path);
    tool.exec(`CREATE TABLE row_writes (n INTEGER); INSERT INTO row_writes VALUES (0);
      CREATE TRIGGER count_insert AFTER INSERT ON invocation_status BEGIN UPDATE row_writes SET n = n + 1; END;
      CREATE TRIGGER count_update AFTER UPDATE ON invocation_status BEGIN UPDATE row_writes SET n = n + 1; END;`);
    const rowWrites = () => tool.prepare<[], number>("SELECT n FROM row_writes").pluck().get();
    t.after(() => tool.close());
    store.write((tx) => {
      tx.putInvocation(invocation(id, "inboxed"));
      tx.putInvocation(invocation(id, "invoked"));
      assert.equal(tx.getInvocation(id)?.status, "invoked");
      tx.putInvocation({ ...invocation(id, "completed"), journalLength: 3 });
    });
    assert.equal(rowWrites(), 1, "three puts in one transaction, one row write");
    assert.equal(store.read((tx) => tx.getInvocation(id))?.journalLength, 3);
    assert.equal(rowBody(store.path, id) !== undefined, true, "committed with the transaction");
    store.write((tx) => {
      tx.putInvocation(invocation(id, "invoked"));
      assert.deepEqual(tx.listInvocations("invoked").map((s) => s.id), [id], "a query in the transaction sees its writes");
    });
    assert.deepEqual(store.read((tx) => tx.listInvocations("invoked").map((s) => s.id)), [id]);
    store.write((tx) => tx.deleteInvocation(id));
    assert.equal(store.read((tx) => tx.getInvocation(id)), null);
    assert.equal(rowBody(store.path, id), undefined);
  });

  it("forgets a rolled-back transaction's writes", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    store.write((tx) => tx.putInvocation(invocation(id, "invoked")));
    assert.throws(() =>
      store.write((tx) => {
        tx.putInvocation(invocation(id, "completed"));
        tx.listInvocations(); // flushes it to SQLite inside the transaction
        throw new Error("apply failed");
      }),
    );
    assert.equal(store.read((tx) => tx.getInvocation(id))?.status, "invoked");
  });

  it("hands out frozen statuses: a caller cannot change what the next reader sees", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    store.write((tx) => tx.putInvocation(invocation(id, "invoked")));
    const read = store.read((tx) => tx.getInvocation(id))!;
    assert.throws(() => ((read as { journalLength: number }).journalLength = 5), TypeError);
    assert.throws(() => (read.headers as { key: string; value: string }[]).push({ key: "a", value: "b" }), TypeError);
    assert.equal(store.read((tx) => tx.getInvocation(id))?.journalLength, 0);
  });
});
