import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setImmediate as yieldToApply } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { pino } from "pino";
import type { Command } from "../../src/partition/records.ts";
import { StateMachine, type Effect } from "../../src/partition/state-machine/index.ts";
import * as pb from "../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { MessageType } from "../../src/protocol/message-type.ts";
import { PartitionStore } from "../../src/storage/partition-store.ts";
import { LeaderEpoch, Lsn, PartitionKey, newInvocationId, type InvocationId } from "../../src/types/ids.ts";
import type { InvocationStatus, JournalEntry } from "../../src/types/invocation.ts";
import { tempDir } from "../support/temp.ts";

/**
 * Read skew under retention: a reader of an invocation's status and then its journal must see both
 * as of one applied LSN while the partition keeps applying journal appends, journal retention,
 * completion retention and purges. The reads here are the invoker's (status, then entries).
 */

const INVOCATIONS = 8;
const READS = 2_000;
const T0 = 1_700_000_000_000;

/** The invoker's two reads, whichever way a variant makes them; it may await between them. */
type Reader = (store: PartitionStore, id: InvocationId) => Promise<{ status: InvocationStatus | null; journal: readonly JournalEntry[] }>;

const READERS: Record<string, Reader> = {
  /** One synchronous read transaction (what `Invoker` does). */
  "read(fn)": async (store, id) => store.read((tx) => ({ status: tx.getInvocation(id), journal: tx.getJournal(id) })),
  /** One snapshot held across an await, so applies commit between the two reads. */
  "openSnapshot()": async (store, id) => {
    const snapshot = store.openSnapshot();
    try {
      const status = snapshot.getInvocation(id);
      await yieldToApply();
      return { status, journal: snapshot.getJournal(id) };
    } finally {
      snapshot.release();
    }
  },
};

/** The mutation: the two keys read in two separate reads, applies committing in between. */
const splitReader: Reader = async (store, id) => {
  const status = store.read((tx) => tx.getInvocation(id));
  await yieldToApply();
  return { status, journal: store.read((tx) => tx.getJournal(id)) };
};

/**
 * The partition's records for one invocation's whole life, again and again: invoked, runs journaled
 * and completed, output, end; its journal retention fires, then a purge or its completion retention
 * ends it, and the same (idempotent) id is invoked afresh.
 */
function* lifecycle(id: InvocationId, round: () => number): Generator<Command> {
  for (;;) {
    const n = round();
    yield {
      t: "invoke",
      request: {
        id,
        target: { service: "Payments", handler: "charge", serviceType: "SERVICE", handlerType: "SHARED" },
        argument: new Uint8Array([n]),
        headers: [],
        randomSeed: "7",
        idempotencyKey: "k",
        completionRetentionMs: 60_000,
        journalRetentionMs: 1_000,
      },
    };
    let commands = 1;
    const runs = 1 + (n % 3);
    for (let completionId = 1; completionId <= runs; completionId++) {
      yield command(id, commands++, pb.RunCommandMessageSchema, MessageType.RunCommand, { resultCompletionId: completionId, name: `run-${completionId}` });
      yield { t: "run-completion", id, completionId, result: { kind: "success", value: new Uint8Array([completionId]) } };
    }
    yield command(id, commands++, pb.OutputCommandMessageSchema, MessageType.OutputCommand, { result: { case: "value", value: { content: new Uint8Array([1]) } } });
    yield { t: "end", id, commandCount: commands };
    yield { t: "timer-fired", key: `journal-cleanup:${id}` };
    yield n % 2 === 0 ? { t: "purge", id } : { t: "timer-fired", key: `cleanup:${id}` };
  }
}

function command(id: InvocationId, commandIndex: number, schema: Parameters<typeof create>[0], msgType: number, init: object): Command {
  return { t: "journal-command", id, commandIndex, msgType, payload: toBinary(schema, create(schema, init as never)) };
}

/** A small deterministic PRNG, so a run's interleaving is the same every time. */
function prng(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
}

describe("multi-key reads under retention and purges see one applied LSN", () => {
  const dir = tempDir("reprise-read-skew-");
  after(() => dir.remove());
  let file = 0;

  /**
   * Applies the invocations' records one batch per turn of the event loop (as the processor does,
   * one write transaction each) while `reader` reads random invocations in a tight loop; returns
   * how many reads saw a journal length in the status other than the entries read.
   */
  async function torn(reader: Reader): Promise<{ torn: number; reads: number; applied: number }> {
    const store = new PartitionStore(join(dir.path, `p${file++}.sqlite`));
    const sm = new StateMachine(pino({ level: "silent" }));
    const ids = Array.from({ length: INVOCATIONS }, (_, i) => {
      const random = new Uint8Array(16);
      random[15] = i + 1;
      return newInvocationId(PartitionKey(7n), random);
    });
    let round = 0;
    const lives = ids.map((id) => lifecycle(id, () => round++));
    const random = prng(42);
    let lsn = 0;
    let reading = true;
    const writer = (async () => {
      while (reading) {
        const batch = 1 + Math.floor(random() * 3);
        store.write((tx) => {
          for (let i = 0; i < batch; i++) {
            const effects: Effect[] = [];
            const command = lives[Math.floor(random() * lives.length)].next().value as Command;
            sm.apply(tx, Lsn(++lsn), { header: { ts: T0 + lsn, epoch: LeaderEpoch(1) }, command }, effects);
          }
          tx.setAppliedLsn(Lsn(lsn));
        });
        await yieldToApply();
      }
    })();
    let count = 0;
    try {
      for (let i = 0; i < READS; i++) {
        const { status, journal } = await reader(store, ids[Math.floor(random() * ids.length)]);
        if ((status?.journalLength ?? 0) !== journal.length) count++;
        // The invoker goes on to other work (an HTTP/2 stream) between reads; applies go on meanwhile.
        await yieldToApply();
      }
    } finally {
      reading = false;
      await writer;
      store.close();
    }
    return { torn: count, reads: READS, applied: lsn };
  }

  for (const [name, reader] of Object.entries(READERS)) {
    it(`${name}: the journal length in the status always equals the entries read`, async () => {
      const result = await torn(reader);
      assert.equal(result.torn, 0, `${result.torn} of ${result.reads} reads were torn`);
      // Whole lives (invoke to purge, 8 to 12 records) went by meanwhile, retention and purges included.
      assert.ok(result.applied > 2 * INVOCATIONS * 12, `${result.applied} records applied during the reads`);
    });
  }

  it("the same check fails a reader that splits the two reads: it sees a torn view", async () => {
    const result = await torn(splitReader);
    assert.ok(result.torn > 0, `the split reader saw no torn view in ${result.reads} reads`);
    console.log(`split reads: ${result.torn} of ${result.reads} torn (${result.applied} records applied)`);
  });
});
