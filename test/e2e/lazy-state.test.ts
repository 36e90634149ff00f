import assert from "node:assert/strict";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { MessageType } from "../../src/protocol/message-type.ts";
import type { InvocationId } from "../../src/types/ids.ts";
import { startInProcess, callJson, registerDeployment, tempDir } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import type { Node } from "../../src/cluster/node.ts";

const KEYS = 1000;
const keyName = (i: number) => `k${String(i).padStart(4, "0")}`;
/** About 100 bytes per entry: the whole state is ~105 KB. */
const valueOf = (key: string) => `${key}:${"x".repeat(95)}`;

const bagHandlers = {
  fill: async (ctx: restate.ObjectContext) => {
    for (let i = 0; i < KEYS; i++) ctx.set(keyName(i), valueOf(keyName(i)));
  },
  read: async (ctx: restate.ObjectContext, keys: string[]) => {
    const values: (string | null)[] = [];
    for (const k of keys) values.push(await ctx.get<string>(k));
    return values;
  },
  keys: async (ctx: restate.ObjectContext) => (await ctx.stateKeys()).length,
};

const lazyBag = restate.object({ name: "LazyBag", handlers: bagHandlers, options: { enableLazyState: true } });
const eagerBag = restate.object({ name: "EagerBag", handlers: bagHandlers });

/** A TCP relay in front of the endpoint that counts the bytes Reprise sends through it. */
async function countingRelay(target: number): Promise<{ url: string; sent: () => number; close: () => Promise<void> }> {
  let sent = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    client.on("data", (d: Buffer) => {
      sent += d.length;
      upstream.write(d);
    });
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => sent,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("lazy state: an object's state is sent eagerly only up to the limit, and read on demand", () => {
  const dir = tempDir();
  let sdk: SdkEndpoint;
  let relay: Awaited<ReturnType<typeof countingRelay>>;
  let node: Node;
  let ingress: string;

  /** Runs `path` and returns its result, the bytes sent to the deployment meanwhile and the state commands journaled. */
  const measured = async (path: string, body: unknown) => {
    const before = relay.sent();
    const res = await callJson(ingress, path, body);
    assert.equal(res.status, 200, await res.clone().text());
    const sent = relay.sent() - before;
    const journal = node.dispatcher.withJournal(res.headers.get("x-restate-id") as InvocationId)!.journal;
    const count = (type: number) => journal.filter((e) => e.type === type).length;
    return {
      result: await res.json(),
      sent,
      lazyReads: count(MessageType.GetLazyStateCommand),
      eagerReads: count(MessageType.GetEagerStateCommand),
      lazyKeyReads: count(MessageType.GetLazyStateKeysCommand),
    };
  };

  before(async () => {
    sdk = await startSdkEndpoint([lazyBag, eagerBag]);
    relay = await countingRelay(sdk.port);
    // A 20 KB eager limit: a fifth of a bag's state goes with an attempt.
    node = await startInProcess(dir.path, { invoker: { eagerStateSizeLimitBytes: 20_000 } });
    ingress = `http://127.0.0.1:${node.ingressPort}`;
    assert.equal((await registerDeployment(`http://127.0.0.1:${node.adminPort}`, relay.url)).status, 201);
    for (const bag of ["LazyBag", "EagerBag"]) assert.equal((await callJson(ingress, `/${bag}/big/fill`)).status, 200);
  });

  after(async () => {
    await node?.stop();
    await relay?.close();
    await sdk?.close();
    dir.remove();
  });

  it("an object with 1,000 keys read lazily sends only the keys read", async () => {
    const r = await measured("/LazyBag/big/read", [keyName(7), keyName(500), "missing"]);
    assert.deepEqual(r.result, [valueOf(keyName(7)), valueOf(keyName(500)), null]);
    assert.equal(r.lazyReads, 3, "every read went to the runtime");
    assert.equal(r.eagerReads, 0);
    assert.ok(r.sent < 10_000, `${r.sent} bytes were sent for three keys of a ~105 KB state`);
  });

  it("eager state stops at the size limit; the keys beyond it are read lazily", async () => {
    const r = await measured("/EagerBag/big/read", [keyName(7), keyName(900), "missing"]);
    assert.deepEqual(r.result, [valueOf(keyName(7)), valueOf(keyName(900)), null]);
    assert.equal(r.eagerReads, 1, `${keyName(7)} came with the attempt`);
    assert.equal(r.lazyReads, 2, `${keyName(900)} and the missing key were beyond the limit`);
    assert.ok(r.sent > 15_000 && r.sent < 40_000, `${r.sent} bytes sent with a 20 KB eager limit`);

    const keys = await measured("/EagerBag/big/keys", undefined);
    assert.equal(keys.result, KEYS, "the key list of a partial state comes from the runtime");
    assert.equal(keys.lazyKeyReads, 1);
  });

  it("a state that fits is sent whole, and a missing key needs no round trip", async () => {
    assert.equal((await callJson(ingress, "/EagerBag/small/read", ["a"])).status, 200);
    const r = await measured("/EagerBag/small/read", ["a", "b"]);
    assert.deepEqual(r.result, [null, null]);
    assert.equal(r.lazyReads, 0, "a complete state answers a missing key as unset");
  });
});
