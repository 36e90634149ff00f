import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient } from "../../src/net/client.ts";
import { NodeConnections } from "../../src/net/connections.ts";
import { PeerUnavailableError, RemoteError, RpcTimeoutError, UnknownMethodError } from "../../src/net/errors.ts";
import { LogServer as LogServerService } from "../../src/net/gen/log_server_pb.ts";
import { MetadataService } from "../../src/net/gen/metadata_pb.ts";
import { LocalChannel } from "../../src/net/local-channel.ts";
import { metadataServiceImpl } from "../../src/net/metadata-service.ts";
import { RpcServer } from "../../src/net/server.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { RepriseError } from "../../src/types/errors.ts";
import { PlainNodeId } from "../../src/types/ids.ts";
import { dec, enc, eventually } from "../log-server/helpers.ts";
import { metadataServiceWith } from "./metadata-service-with.ts";

const never = (signal: AbortSignal, onAbort: () => void): Promise<void> =>
  new Promise<void>((resolve) =>
    signal.addEventListener("abort", () => {
      onAbort();
      resolve();
    }),
  );

describe("calls to this process's own node", () => {
  it("answer as over the wire: results, a handler's typed error, an unknown method; the server never listens", async () => {
    const server = new RpcServer({ port: 0 }).register(
      MetadataService,
      metadataServiceWith(async (key) => {
        if (key === "custom") throw new RepriseError("custom_code", "something specific", true, 418);
      }),
    );
    const channel = new LocalChannel(server, "127.0.0.1:1");
    const c = createClient(MetadataService, channel);
    await c.put({ key: "k", value: enc("v") });
    assert.equal(dec((await c.get({ key: "k" })).value!.value), "v");
    await assert.rejects(
      c.get({ key: "custom" }),
      (e) => e instanceof RemoteError && e.code === "custom_code" && e.message === "something specific" && e.retryable && e.httpStatus === 418,
    );
    await assert.rejects(createClient(LogServerService, channel).getLogletInfo({}), UnknownMethodError);
  });

  it("time out, and abort on the caller's signal, cancelling the handler either way", async () => {
    let cancelled = 0;
    const server = new RpcServer({ port: 0 }).register(
      MetadataService,
      metadataServiceWith((_key, signal) => never(signal, () => cancelled++)),
    );
    const c = createClient(MetadataService, new LocalChannel(server, "127.0.0.1:1"));
    await assert.rejects(c.get({ key: "k" }, { timeoutMs: 100 }), (e) => e instanceof RpcTimeoutError && e.retryable);
    await eventually(() => cancelled === 1, 2_000, "the handler sees the timeout");
    const abort = new AbortController();
    const call = c.get({ key: "k" }, { signal: abort.signal, timeoutMs: 10_000 });
    setTimeout(() => abort.abort(new Error("caller gave up")), 50);
    await assert.rejects(call, /caller gave up/);
    await eventually(() => cancelled === 2, 2_000, "the handler sees the abort");
  });

  it("fail as unavailable (retryable) once the server is closed, and the node's connections route its own id there", async () => {
    const server = new RpcServer({ port: 0 }).register(MetadataService, metadataServiceImpl(new InMemoryMetadataStore()));
    const me = PlainNodeId(7);
    const connections = new NodeConnections(() => {
      throw new Error("no address is resolved for this node's own calls");
    }, { node: me, server, address: "127.0.0.1:1" });
    const c = createClient(MetadataService, connections.channel(me));
    await c.put({ key: "k", value: enc("v") });
    await server.close();
    await assert.rejects(c.get({ key: "k" }), (e) => e instanceof PeerUnavailableError && e.retryable);
    connections.close();
  });
});
