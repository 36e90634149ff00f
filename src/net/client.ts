import { connect, constants, type ClientHttp2Session } from "node:http2";
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { RepriseError } from "../types/errors.ts";
import { RpcErrorSchema } from "./gen/transport_pb.ts";
import { errorFromWire, PeerUnavailableError } from "./errors.ts";
import { watchDeadline } from "./call-deadline.ts";
import { CONTENT_TYPE_ERROR, CONTENT_TYPE_PROTO, DEFAULT_MAX_MESSAGE_BYTES, TIMEOUT_HEADER, type RpcAnswer } from "./rpc-call.ts";
import { joinChunks } from "./chunks.ts";
import { MuxCalls } from "./mux-client.ts";

export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
/**
 * Calls with a body up to this size go as frames on the connection's call stream; a larger one
 * gets a stream of its own, so that its transfer holds up no small call queued behind it.
 */
const MUX_MAX_BODY_BYTES = 256 * 1024;

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Carries unary calls to one node: over HTTP/2 (`RpcChannel`), or in this process to its own node (`LocalChannel`). */
export interface Channel {
  /** Resolves with the answer's body; rejects with the peer's typed error, `PeerUnavailableError` or `RpcTimeoutError`. */
  call(path: string, body: Uint8Array, options?: CallOptions): Promise<Uint8Array>;
  close(): void;
}

/** The body of a successful answer; otherwise throws the error it carries. */
export function answerBody(answer: RpcAnswer, address: string, path: string): Uint8Array {
  if (answer.status === 200) return answer.body;
  if (answer.contentType !== CONTENT_TYPE_ERROR) throw new PeerUnavailableError(address, new Error(`HTTP ${answer.status} for ${path}`));
  let wire;
  try {
    wire = fromBinary(RpcErrorSchema, answer.body);
  } catch (e) {
    throw new PeerUnavailableError(address, e);
  }
  throw errorFromWire(wire, answer.status, path);
}

/**
 * One HTTP/2 connection to a peer, opened lazily and re-opened on the next call after it broke
 * (peer restarted, connection refused), so callers never manage reconnects.
 */
export class RpcChannel implements Channel {
  private session: ClientHttp2Session | null = null;
  private sessionAddress = "";
  private mux: MuxCalls | null = null;
  private closed = false;

  /** `address` is `host:port` or an `http://` URL; resolved on every (re)connect so a restarted peer may move. */
  constructor(private readonly address: () => string) {}

  async call(path: string, body: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const address = this.address();
    if (this.closed) throw new PeerUnavailableError(address, new Error("channel closed"));
    options.signal?.throwIfAborted();
    const session = this.connect(address);
    if (body.length <= MUX_MAX_BODY_BYTES) return answerBody(await this.callsOn(session, address).call(path, body, timeoutMs, options.signal), address, path);
    return new Promise<Uint8Array>((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": CONTENT_TYPE_PROTO,
        [TIMEOUT_HEADER]: String(timeoutMs),
      });
      let settled = false;
      const finish = (error: RepriseError | Error | null, value?: Uint8Array): void => {
        if (settled) return;
        settled = true;
        stopWatching();
        if (error) reject(error);
        else resolve(value!);
      };
      // Only a call given up on resets its stream: a reset after a complete answer is an invalid frame to the peer.
      const cancel = (error: Error): void => {
        if (!req.closed) req.close(constants.NGHTTP2_CANCEL);
        finish(error);
      };
      const stopWatching = watchDeadline(address, path, timeoutMs, options.signal, cancel);

      let status = 0;
      let contentType = "";
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("response", (headers) => {
        status = Number(headers[":status"]);
        contentType = String(headers["content-type"] ?? "");
      });
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > DEFAULT_MAX_MESSAGE_BYTES) cancel(new PeerUnavailableError(address, new Error(`response to ${path} too large`)));
        else chunks.push(chunk);
      });
      req.on("end", () => {
        try {
          finish(null, answerBody({ status, contentType, body: joinChunks(chunks) }, address, path));
        } catch (e) {
          finish(e as Error);
        }
      });
      // Refused connections, resets and GOAWAY all land here or in 'close' without 'end'.
      req.on("error", (e) => finish(new PeerUnavailableError(address, e)));
      req.on("close", () => {
        // Normally after 'end'; building an error (stack trace) for every call would cost more than the call.
        if (!settled) finish(new PeerUnavailableError(address, new Error(`stream closed (code ${req.rstCode})`)));
      });
      req.end(body);
    });
  }

  close(): void {
    this.closed = true;
    this.mux?.close();
    this.session?.destroy();
    this.session = null;
  }

  /** The call stream on `session`, opened anew when there is none on it or it broke. */
  private callsOn(session: ClientHttp2Session, address: string): MuxCalls {
    if (this.mux === null || !this.mux.usable || this.mux.session !== session) {
      this.mux?.close();
      this.mux = new MuxCalls(session, address);
    }
    return this.mux;
  }

  private connect(address: string): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) {
      if (this.sessionAddress === address) return this.session;
      // The peer moved (restarted elsewhere); the old connection may hang on a stopped process.
      this.session.destroy();
    }
    const url = address.includes("://") ? address : `http://${address}`;
    const session = connect(url);
    // An idle connection must not keep a process alive; pending calls hold their own timers.
    session.unref();
    const keepalive = watchLiveness(session);
    const drop = (): void => {
      keepalive.stop();
      if (this.session === session) this.session = null;
    };
    // Streams report the failure to their callers; here we only forget the broken connection.
    session.on("error", drop);
    session.on("goaway", drop);
    session.on("close", drop);
    this.session = session;
    this.sessionAddress = address;
    return session;
  }
}

/** A connection must be up this soon, and answer a PING this soon, or it is dropped and redialled. */
const CONNECT_TIMEOUT_MS = 2_000;
const PING_INTERVAL_MS = 1_000;
const PING_TIMEOUT_MS = 2_000;

/**
 * Detects a connection that silently stopped carrying packets (a dropped link, a frozen peer):
 * TCP alone would wait out its retransmission backoff, minutes at worst, and a SYN lost to a cut
 * link is retried only after seconds. An HTTP/2 PING every second, and a bounded connect, destroy
 * such a connection within a few seconds, so the next call dials afresh as soon as the network
 * allows, and the calls on it fail now instead of at their timeouts.
 */
function watchLiveness(session: ClientHttp2Session): { stop: () => void } {
  let unansweredSince: number | null = null;
  const connectTimer = setTimeout(() => session.destroy(new Error(`not connected within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  connectTimer.unref();
  session.once("connect", () => clearTimeout(connectTimer));
  const pinger = setInterval(() => {
    if (session.destroyed || session.connecting) return;
    if (unansweredSince !== null) {
      if (Date.now() - unansweredSince > PING_TIMEOUT_MS) session.destroy(new Error(`no PING answer within ${PING_TIMEOUT_MS} ms`));
      return;
    }
    unansweredSince = Date.now();
    const sent = session.ping((err) => {
      if (!err) unansweredSince = null;
    });
    if (!sent) unansweredSince = null;
  }, PING_INTERVAL_MS);
  pinger.unref();
  return {
    stop: () => {
      clearTimeout(connectTimer);
      clearInterval(pinger);
    },
  };
}

export type ServiceClient<S extends GenService<GenServiceMethods>> = {
  [K in keyof S["method"]]: (
    request: MessageInitShape<S["method"][K]["input"]>,
    options?: CallOptions,
  ) => Promise<MessageShape<S["method"][K]["output"]>>;
};

/** Typed stubs for every method of `service` over `channel`. */
export function createClient<S extends GenService<GenServiceMethods>>(service: S, channel: Channel): ServiceClient<S> {
  const client: Record<string, unknown> = {};
  for (const method of (service as unknown as DescService).methods) {
    const path = `/${service.typeName}/${method.name}`;
    const input: DescMessage = method.input;
    const output: DescMessage = method.output;
    client[method.localName] = async (request: MessageInitShape<DescMessage>, options?: CallOptions) => {
      const bytes = await channel.call(path, toBinary(input, create(input, request)), options);
      return fromBinary(output, bytes);
    };
  }
  return client as ServiceClient<S>;
}
