import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SealedError } from "../../src/bifrost/loglet.ts";
import { logServerClient, type LogServerClient } from "../../src/bifrost/replicated/log-server-client.ts";
import { answeringRefusals } from "../../src/log-server/refusals.ts";
import { createClient, RpcChannel } from "../../src/net/client.ts";
import { InternalRpcError } from "../../src/net/errors.ts";
import { LogServer as LogServerService, LogServerStatus, LogServerStatusSchema, type RequestHeader } from "../../src/net/gen/log_server_pb.ts";
import {
  FencedNodeError,
  LogServerClosedError,
  MalformedRequestError,
  NotWritableError,
  StaleSequencerError,
  UnknownLogletError,
  UnknownLogServerStatusError,
} from "../../src/net/log-server-errors.ts";
import { RpcServer, type ServiceImpl } from "../../src/net/server.ts";
import { CorruptionError, RepriseError } from "../../src/types/errors.ts";
import { captureLogger } from "../bifrost/helpers.ts";
import { header, node } from "./helpers.ts";

type Refusal = Exclude<LogServerStatus, LogServerStatus.OK>;
type ErrorClass = abstract new (...args: never[]) => RepriseError;

/** For each status, a refusal as the log server raises it and the class the caller must see. */
const REFUSALS: { readonly [S in Refusal]: { readonly thrown: (logletId: string) => RepriseError; readonly arrives: ErrorClass } } = {
  [LogServerStatus.SEALED]: { thrown: (id) => new SealedError(id), arrives: SealedError },
  [LogServerStatus.UNKNOWN_LOGLET]: { thrown: (id) => new UnknownLogletError(id), arrives: UnknownLogletError },
  [LogServerStatus.STALE_SEQUENCER]: { thrown: (id) => StaleSequencerError.refusing(id, node(2, 1), node(3, 4)), arrives: StaleSequencerError },
  [LogServerStatus.NODE_FENCED]: { thrown: () => FencedNodeError.superseded(node(2, 1), 5), arrives: FencedNodeError },
  [LogServerStatus.PROVISIONING]: { thrown: () => NotWritableError.inState("provisioning"), arrives: NotWritableError },
  [LogServerStatus.NOT_WRITABLE]: { thrown: () => NotWritableError.inState("data-loss"), arrives: NotWritableError },
  [LogServerStatus.MALFORMED_REQUEST]: { thrown: (id) => new MalformedRequestError(`loglet ${id}: bad range [4, 2]`), arrives: MalformedRequestError },
  [LogServerStatus.SHUTTING_DOWN]: { thrown: () => new LogServerClosedError(), arrives: LogServerClosedError },
  [LogServerStatus.CORRUPTION]: { thrown: (id) => new CorruptionError(`log store x: record ${id}@2 fails its checksum`), arrives: CorruptionError },
};

const FUTURE_STATUS = 999;

/**
 * A log server whose every method refuses as the request's loglet id says: `refusal-<status>`
 * throws that status's error, `unclassified` a plain Error, `future` answers a status from a newer
 * version (bypassing the refusal mapping).
 */
function refusingImpl(): ServiceImpl<typeof LogServerService> {
  const refuse = async (req: { header?: RequestHeader }) => {
    const id = req.header!.logletId;
    if (id === "unclassified") throw new Error("disk on fire");
    const status = Number(id.replace("refusal-", "")) as Refusal;
    throw REFUSALS[status].thrown(id);
  };
  const mapped = answeringRefusals({
    store: refuse,
    release: refuse,
    seal: refuse,
    getLogletInfo: refuse,
    trim: refuse,
    getRecords: refuse,
    getDigest: refuse,
    waitForTail: refuse,
  });
  return {
    ...mapped,
    getLogletInfo: async (req, ctx) =>
      req.header?.logletId === "future" ? { status: FUTURE_STATUS as LogServerStatus, message: "from the future" } : mapped.getLogletInfo(req, ctx),
  };
}

describe("log-server statuses across the transport", () => {
  let server: RpcServer;
  let channel: RpcChannel;
  let client: LogServerClient;
  const raw = () => createClient(LogServerService, channel);
  const as = node(2, 1);
  const serverLog = captureLogger();

  before(async () => {
    server = new RpcServer({ port: 0, logger: serverLog.logger }).register(LogServerService, refusingImpl());
    const port = await server.listen();
    channel = new RpcChannel(() => `127.0.0.1:${port}`);
    client = logServerClient(channel);
  });
  after(async () => {
    channel.close();
    await server.close();
  });

  it("turns every status into its typed error on the caller, with the server's code, message and retryability", async () => {
    const statuses = LogServerStatusSchema.values.map((v) => v.number as LogServerStatus).filter((s): s is Refusal => s !== LogServerStatus.OK);
    assert.equal(statuses.length, Object.keys(REFUSALS).length, "every status of the .proto has a case here");
    for (const status of statuses) {
      const logletId = `refusal-${status}`;
      const sent = REFUSALS[status].thrown(logletId);
      const answer = await raw().getLogletInfo({ header: header(as, logletId) });
      assert.deepEqual([answer.status, answer.message, answer.state], [status, sent.message, undefined], `${LogServerStatus[status]} on the wire`);
      await assert.rejects(client.getLogletInfo({ header: header(as, logletId) }), (e) => {
        assert.ok(e instanceof REFUSALS[status].arrives, `${LogServerStatus[status]} arrives as ${REFUSALS[status].arrives.name}, got ${String(e)}`);
        assert.deepEqual([e.code, e.message, e.retryable, e.httpStatus], [sent.code, sent.message, sent.retryable, sent.httpStatus]);
        return true;
      });
    }
    assert.deepEqual(serverLog.lines(), [], "a refusal is an answer: the server logs nothing");
  });

  it("answers refusals from every method", async () => {
    const methods = Object.keys(client) as Array<keyof LogServerClient>;
    assert.equal(methods.length, 8);
    for (const method of methods) {
      const call = client[method] as (req: { header: ReturnType<typeof header> }) => Promise<unknown>;
      await assert.rejects(call({ header: header(as, `refusal-${LogServerStatus.SEALED}`) }), SealedError, method);
    }
  });

  it("refuses a status it does not know, and leaves failures that are no refusal to the transport", async () => {
    await assert.rejects(
      client.getLogletInfo({ header: header(as, "future") }),
      (e) => e instanceof UnknownLogServerStatusError && !e.retryable && e.message.includes(`${FUTURE_STATUS}: from the future`),
    );
    await assert.rejects(client.store({ header: header(as, "unclassified") }), (e) => e instanceof InternalRpcError && e.message === "disk on fire");
    assert.ok(serverLog.lines().some((l) => l.msg === "rpc handler failed"), "the server logs the failure it could not classify");
  });
});
