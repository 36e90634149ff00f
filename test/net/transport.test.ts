import assert from "node:assert/strict";
import type { ClientHttp2Session } from "node:http2";
import { after, describe, it } from "node:test";
import { createClient, RpcChannel } from "../../src/net/client.ts";
import { PeerUnavailableError, RemoteError, RpcTimeoutError, UnknownMethodError } from "../../src/net/errors.ts";
import { LogServer as LogServerService } from "../../src/net/gen/log_server_pb.ts";
import { MetadataService } from "../../src/net/gen/metadata_pb.ts";
import { metadataServiceImpl, RemoteMetadataStore } from "../../src/net/metadata-service.ts";
import { RpcServer, type ServiceImpl } from "../../src/net/server.ts";
import { rootLogger } from "../../src/common/logger.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { PreconditionFailedError } from "../../src/metadata/metadata-store.ts";
import { RepriseError } from "../../src/types/errors.ts";
import { Version } from "../../src/types/ids.ts";
import { dec, enc, eventually } from "../log-server/helpers.ts";
import { metadataServiceWith } from "./metadata-service-with.ts";

describe("node-to-node transport", () => {
  const servers: RpcServer[] = [];
  const channels: RpcChannel[] = [];
  after(async () => {
    for (const c of channels) c.close();
    for (const s of servers) await s.close();
  });

  async function serve(impl: ServiceImpl<typeof MetadataService>, port = 0): Promise<{ server: RpcServer; port: number }> {
    const server = new RpcServer({ port }).register(MetadataService, impl);
    servers.push(server);
    return { server, port: await server.listen() };
  }

  function client(port: number) {
    const channel = new RpcChannel(() => `127.0.0.1:${port}`);
    channels.push(channel);
    return createClient(MetadataService, channel);
  }

  it("answers calls, and sends a handler's typed error as its code, message, retryability and status", async () => {
    const { port } = await serve(
      metadataServiceWith(async (key) => {
        if (key === "custom") throw new RepriseError("custom_code", "something specific", true, 418);
      }),
    );
    const c = client(port);
    await c.put({ key: "k", value: enc("v") });
    assert.equal(dec((await c.get({ key: "k" })).value!.value), "v");
    await assert.rejects(
      c.get({ key: "custom" }),
      (e) => e instanceof RemoteError && e.code === "custom_code" && e.message === "something specific" && e.retryable && e.httpStatus === 418,
    );
    const wrongService = createClient(LogServerService, channels[channels.length - 1]);
    await assert.rejects(wrongService.getLogletInfo({}), UnknownMethodError);
  });

  it("times out a call the peer does not answer, as a retryable error", async () => {
    let cancelled = false;
    const { port } = await serve(
      metadataServiceWith((_key, signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => ((cancelled = true), resolve())))),
    );
    const started = Date.now();
    await assert.rejects(client(port).get({ key: "k" }, { timeoutMs: 200 }), (e) => e instanceof RpcTimeoutError && e.retryable);
    assert.ok(Date.now() - started < 1_000);
    await eventually(() => cancelled, 2_000, "the server sees the cancellation");
  });

  it("carries concurrent calls as frames on one stream, answered in the order their handlers finish, and a large body on a stream of its own", async () => {
    const { port } = await serve(metadataServiceWith((key) => new Promise((resolve) => setTimeout(resolve, 60 - Number(key.slice(1))))));
    const c = client(port);
    const channel = channels[channels.length - 1];
    await c.put({ key: "warm", value: enc("") });
    const streamsOpened = () => (channel as unknown as { session: ClientHttp2Session }).session.state.nextStreamID!;
    const before = streamsOpened();
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => c.put({ key: k, value: enc(`value of ${k}`) })));
    const finished: string[] = [];
    const values = await Promise.all(
      keys.map(async (k) => {
        const value = dec((await c.get({ key: k })).value!.value);
        finished.push(k);
        return value;
      }),
    );
    assert.deepEqual(values, keys.map((k) => `value of ${k}`));
    assert.notDeepEqual(finished, keys, "the later keys' handlers finish first, and their answers overtake the earlier ones");
    assert.equal(streamsOpened(), before, "100 calls opened no stream beyond the call stream");
    const large = "x".repeat(300 * 1024);
    await c.put({ key: "large", value: enc(large) });
    assert.equal(streamsOpened(), before + 2, "a body over 256 KiB went on a stream of its own");
    assert.equal(dec((await c.get({ key: "large" })).value!.value), large, "a 300 KiB answer arrives whole on the call stream");
  });

  it("fails fast when the peer is down and reconnects once it is back on its address", async () => {
    const { server, port } = await serve(metadataServiceWith(async () => undefined));
    const c = client(port);
    await c.put({ key: "k", value: enc("1") });
    await server.close();
    await assert.rejects(c.get({ key: "k" }), (e) => e instanceof PeerUnavailableError && e.retryable);
    await serve(metadataServiceWith(async () => undefined), port);
    assert.equal((await c.get({ key: "k" })).value, undefined, "a new peer process (empty store) answers on the same channel");
  });

  it("serves a metadata store to other processes, preconditions and watches included", async () => {
    const backing = new InMemoryMetadataStore();
    const { port } = await serve(metadataServiceImpl(backing));
    const remote = new RemoteMetadataStore(`127.0.0.1:${port}`, rootLogger);
    try {
      const seen: Array<number | null> = [];
      const unwatch = remote.watch("doc", (e) => seen.push(e.value?.version ?? null));
      await eventually(async () => true);
      assert.equal(await remote.put("doc", enc("a"), { kind: "does-not-exist" }), 1);
      await assert.rejects(remote.put("doc", enc("b"), { kind: "matches", version: Version(7) }), PreconditionFailedError);
      await remote.put("doc", enc("b"), { kind: "matches", version: Version(1) });
      await eventually(() => seen.includes(2), 3_000, "watch sees version 2");
      await remote.delete("doc", { kind: "none" });
      await eventually(() => seen[seen.length - 1] === null, 3_000, "watch sees the delete");
      unwatch();
      assert.equal(await remote.get("doc"), null);
    } finally {
      await remote.close();
    }
  });
});
