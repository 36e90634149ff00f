import { createServer, type Http2Server, type Http2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { rootLogger, type Logger } from "../common/logger.ts";
import { PayloadTooLargeError, RepriseError, errorMessage } from "../types/errors.ts";
import { RpcErrorSchema } from "./gen/transport_pb.ts";
import { InternalRpcError, UnknownMethodError } from "./errors.ts";
import { joinChunks } from "./chunks.ts";
import { serveMuxStream } from "./mux-server.ts";
import { MUX_PATH } from "./mux-frames.ts";
import { CancellableCall, CONTENT_TYPE_ERROR, CONTENT_TYPE_PROTO, DEFAULT_HANDLER_TIMEOUT_MS, DEFAULT_MAX_MESSAGE_BYTES, TIMEOUT_HEADER, type CallContext, type RpcAnswer } from "./rpc-call.ts";

export type ServiceImpl<S extends GenService<GenServiceMethods>> = {
  [K in keyof S["method"]]: (
    request: MessageShape<S["method"][K]["input"]>,
    ctx: CallContext,
  ) => Promise<MessageInitShape<S["method"][K]["output"]>>;
};

interface Route {
  readonly input: DescMessage;
  readonly output: DescMessage;
  readonly handle: (request: unknown, ctx: CallContext) => Promise<unknown>;
}

/**
 * Raw HTTP/2 streams for every path under `prefix`: another protocol on the same port, such as
 * the gRPC API restatectl calls (`/restate.` services) beside Reprise's own RPCs.
 */
export interface StreamRoute {
  readonly prefix: string;
  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
}

export interface RpcServerOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly maxMessageBytes?: number;
  readonly logger?: Logger;
}

/** Unary protobuf RPC over cleartext HTTP/2: POST /<service>/<method>, body = one message. */
export class RpcServer {
  private readonly routes = new Map<string, Route>();
  private readonly streamRoutes: StreamRoute[] = [];
  private readonly sessions = new Set<Http2Session>();
  private readonly server: Http2Server;
  private readonly log: Logger;
  private readonly maxMessageBytes: number;
  private closed = false;

  constructor(private readonly options: RpcServerOptions) {
    this.log = options.logger ?? rootLogger.child({ component: "rpc-server" });
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.server = createServer({ maxSessionMemory: 64 });
    this.server.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
      // A peer that vanishes mid-call surfaces here; its streams are aborted through their own events.
      session.on("error", (e) => this.log.debug({ err: errorMessage(e) }, "rpc session error"));
    });
    this.server.on("stream", (stream, headers) => this.onStream(stream, headers));
  }

  register<S extends GenService<GenServiceMethods>>(service: S, impl: ServiceImpl<S>): this {
    for (const method of (service as unknown as DescService).methods) {
      const handler = (impl as Record<string, Route["handle"]>)[method.localName];
      if (!handler) throw new Error(`service ${service.typeName} has no implementation for ${method.name}`);
      this.routes.set(`/${service.typeName}/${method.name}`, {
        input: method.input,
        output: method.output,
        handle: handler.bind(impl),
      });
    }
    return this;
  }

  /** Hands every stream under `route.prefix` to `route` instead of answering it as a Reprise RPC. */
  mount(route: StreamRoute): this {
    this.streamRoutes.push(route);
    return this;
  }

  /** Resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host ?? "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.destroy();
    await closed;
  }

  /**
   * Answers a call made in this process to its own node (a worker's sequencer storing on the
   * node's log server, a follower reading from it) without HTTP/2: the same handlers, encoding and
   * answers as over the wire, minus the stream, its frames and the socket. Null once the server is
   * closed: the caller sees the node as unavailable, as a dialler would.
   */
  callLocal(path: string, body: Uint8Array, call: CancellableCall): Promise<RpcAnswer> | null {
    if (this.closed) return null;
    if (body.length > this.maxMessageBytes) return Promise.resolve(errorAnswer(this.tooLarge(path)));
    // Started on a microtask, as a call over the wire starts later: the caller's synchronous code runs first.
    return Promise.resolve().then(() => this.answer(path, body, call));
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const path = String(headers[":path"] ?? "");
    if (path === MUX_PATH) return serveMuxStream(stream, (p, body, call) => this.answer(p, body, call), this.maxMessageBytes, (p) => errorAnswer(this.tooLarge(p)), this.log);
    const mounted = this.streamRoutes.find((r) => path.startsWith(r.prefix));
    if (mounted !== undefined) return mounted.handle(stream, headers);
    const call = new CancellableCall(Number(headers[TIMEOUT_HEADER] ?? 0) || DEFAULT_HANDLER_TIMEOUT_MS);
    // Only a stream closed before its answer aborts the handler.
    stream.on("close", () => {
      if (!stream.headersSent) call.cancel();
    });
    // Errors on a stream the peer reset have no one to report to; the close above aborts the handler.
    stream.on("error", (e) => this.log.debug({ path, err: errorMessage(e) }, "rpc stream error"));
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.maxMessageBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    stream.on("end", () => {
      if (tooLarge) return this.send(stream, errorAnswer(this.tooLarge(path)));
      void this.answer(path, joinChunks(chunks), call).then((a) => this.send(stream, a));
    });
  }

  /** The handler's answer to one call; never rejects (a failure is an error answer). */
  private async answer(path: string, body: Uint8Array, ctx: CallContext): Promise<RpcAnswer> {
    const route = this.routes.get(path);
    if (!route) return errorAnswer(new UnknownMethodError(path));
    try {
      const request = fromBinary(route.input, body);
      const init = (await route.handle(request, ctx)) as MessageInitShape<DescMessage>;
      return { status: 200, contentType: CONTENT_TYPE_PROTO, body: toBinary(route.output, create(route.output, init)) };
    } catch (e) {
      if (!(e instanceof RepriseError)) this.log.error({ path, err: e }, "rpc handler failed");
      return errorAnswer(e);
    }
  }

  private tooLarge(path: string): PayloadTooLargeError {
    return new PayloadTooLargeError(`request to ${path} exceeds ${this.maxMessageBytes} bytes`);
  }

  private send(stream: ServerHttp2Stream, answer: RpcAnswer): void {
    if (stream.destroyed || stream.closed) return;
    // Errors are answers, not broken streams: the client reads the code from the body.
    stream.respond({ ":status": answer.status, "content-type": answer.contentType });
    stream.end(answer.body);
  }
}

function errorAnswer(e: unknown): RpcAnswer {
  const error = e instanceof RepriseError ? e : new InternalRpcError(errorMessage(e));
  const body = toBinary(RpcErrorSchema, create(RpcErrorSchema, { code: error.code, message: error.message, retryable: error.retryable }));
  return { status: error.httpStatus, contentType: CONTENT_TYPE_ERROR, body };
}
