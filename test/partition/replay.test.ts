import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import * as restate from "@restatedev/restate-sdk";
import { counter, heldAwakeables } from "../support/example-services.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import { callJson, eventually, registerDeployment, startInProcess, tempDir } from "../support/reprise.ts";
import { QueryEngine } from "../../src/admin/query/engine.ts";
import { EMPTY_SCHEMA, SchemaView } from "../../src/schema/schema.ts";
import { isTrimGap, type Bifrost } from "../../src/bifrost/bifrost.ts";
import { createLocalBifrost } from "../../src/bifrost/local/create-local-bifrost.ts";
import { EmbeddedMetadataStore } from "../../src/metadata/embedded-store.ts";
import { decodeEnvelope } from "../../src/partition/records.ts";
import { StateMachine, type Effect } from "../../src/partition/state-machine/index.ts";
import { PartitionStore } from "../../src/storage/partition-store.ts";
import { LogId, Lsn, type PartitionId } from "../../src/types/ids.ts";

const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (ctx: restate.Context, name: string) => {
      await ctx.sleep(30);
      return ctx.run("compose", () => `Hello, ${name}!`);
    },
    /** Calls an object on whichever partition its key lands, so callers and callees span partitions. */
    greetAndCount: async (ctx: restate.Context, key: string) => {
      const n = await ctx.objectClient(counter, key).add(1);
      return `${key} #${n}`;
    },
  },
});

const TABLES_BY_KEY: Record<string, string> = {
  sys_invocation_status: "id",
  sys_journal: "id, index",
  state: "service_name, service_key, key",
  sys_inbox: "service_name, service_key, sequence_number",
  sys_idempotency: "invocation_id",
  sys_keyed_service_status: "service_name, service_key",
};

/**
 * Log-carried timestamps: every timestamp in the introspection tables comes from a log record, so
 * a store rebuilt from the log later on (by the same apply code, after time has passed) holds
 * exactly the same rows as the original.
 */
describe("replay: a partition store rebuilt from its log is identical to the original", () => {
  const dir = tempDir();
  let sdk: SdkEndpoint;
  const storePaths = new Map<PartitionId, string>();

  before(async () => {
    sdk = await startSdkEndpoint([greeter, counter]);
    const node = await startInProcess(dir.path);
    try {
      const ingress = `http://127.0.0.1:${node.ingressPort}`;
      assert.equal((await registerDeployment(`http://127.0.0.1:${node.adminPort}`, sdk.url)).status, 201);
      const calls = [
        callJson(ingress, "/Greeter/greet", "Ada"),
        callJson(ingress, "/Greeter/greet", "Bob", { "idempotency-key": "bob" }),
        ...["k1", "k2", "k3", "k4"].map((k) => callJson(ingress, "/Greeter/greetAndCount", k)),
      ];
      for (const res of await Promise.all(calls)) assert.equal(res.status, 200, await res.text());
      // Still open when the node stops: a delayed send, a key holder and a call queued behind it.
      assert.equal((await callJson(ingress, "/Greeter/greet/send?delay=1h", "later")).status, 202);
      await callJson(ingress, "/Counter/held/hold/send");
      await eventually(() => heldAwakeables.has("held"), 10_000, "holder to publish its awakeable");
      const queued = (await (await callJson(ingress, "/Counter/held/add/send", 5)).json()) as { invocationId: string };
      await eventually(() => node.dispatcher.status(queued.invocationId as never)?.status === "inboxed", 10_000, "call to queue");
      for (const [pid, p] of node.processors) storePaths.set(pid, p.store.path);
    } finally {
      await node.stop();
    }
  });

  after(async () => {
    await sdk.close();
    dir.remove();
  });

  it("holds the same rows in every table, timestamps included, after time has passed", async () => {
    // Any clock read during apply would now produce different timestamps.
    await sleep(100);
    const metadata = new EmbeddedMetadataStore(join(dir.path, "metadata.sqlite"));
    const bifrost = await createLocalBifrost(join(dir.path, "bifrost"), metadata);
    const originals = [...storePaths.values()].map((path) => new PartitionStore(path));
    const rebuilt: PartitionStore[] = [];
    const engines: QueryEngine[] = [];
    try {
      for (const [pid, store] of [...storePaths.keys()].map((pid, i) => [pid, originals[i]!] as const)) {
        rebuilt.push(await rebuild(bifrost, LogId(pid), store.read((tx) => tx.appliedLsn()), join(dir.path, "rebuilt", `p${pid}.sqlite`)));
      }
      const schema = () => new SchemaView(EMPTY_SCHEMA);
      const pids = [...storePaths.keys()];
      const original = new QueryEngine({ stores: () => originals.map((s, i) => [pids[i]!, s] as const), schema });
      const replayed = new QueryEngine({ stores: () => rebuilt.map((s, i) => [pids[i]!, s] as const), schema });
      engines.push(original, replayed);
      for (const [table, key] of Object.entries(TABLES_BY_KEY)) {
        const sql = `SELECT * FROM ${table} ORDER BY ${key}`;
        const [a, b] = await Promise.all([original.execute(sql), replayed.execute(sql)]);
        assert.ok(a.rows.length > 0, `${table} has rows to compare`);
        assert.deepEqual(b, a, `${table} differs after replay`);
      }
      const timestamps = await original.execute(
        "SELECT count(*) FILTER (WHERE inboxed_at IS NOT NULL), count(*) FILTER (WHERE scheduled_at IS NOT NULL), count(*) FILTER (WHERE completed_at IS NOT NULL) FROM sys_invocation_status",
      );
      assert.deepEqual(timestamps.rows, [[1n, 1n, 10n]], "inboxed, scheduled and completed invocations were compared");
      // The messages of one read from a deployment went as one record, and replayed as they applied.
      assert.ok(
        [...replayedSteps].some((steps) => steps.endsWith("journal-command,end")),
        `an output and its end in one record (steps records: ${[...replayedSteps].join(" | ") || "none"})`,
      );
    } finally {
      // The engines' query workers hold the store files open: stop them before closing the stores.
      for (const engine of engines) await engine.close();
      for (const s of [...originals, ...rebuilt]) s.close();
      await bifrost.close();
      await metadata.close();
    }
  });
});

/** The step kinds of each `attempt-steps` record `rebuild` applied, joined by commas. */
const replayedSteps = new Set<string>();

/** Replays the log from the first record through `upTo` into a fresh store file, as a processor would (SQL's workers read stores from their files). */
async function rebuild(bifrost: Bifrost, logId: LogId, upTo: Lsn, path: string): Promise<PartitionStore> {
  const store = new PartitionStore(path);
  const sm = new StateMachine(pino({ level: "silent" }));
  const effects: Effect[] = [];
  for (let next = 1; next <= upTo; ) {
    const entries = (await bifrost.read(logId, Lsn(next), 256)).filter((e) => e.lsn <= upTo);
    assert.ok(entries.length > 0, `log ${logId} ends before ${upTo}`);
    store.write((tx) => {
      for (const entry of entries) {
        assert.ok(!isTrimGap(entry), "the test log is never trimmed");
        const envelope = decodeEnvelope(entry.payload, entry.lsn);
        if (envelope.command.t === "attempt-steps") replayedSteps.add(envelope.command.steps.map((step) => step.t).join(","));
        sm.apply(tx, entry.lsn, envelope, effects);
      }
    });
    next = entries.at(-1)!.lsn + 1;
  }
  return store;
}
