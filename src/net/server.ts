import { createServer, type Http2Server, type Http2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary, type DescMessage, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { rootLogger, type Logger } from "../common/logger.ts";
import { PayloadTooLargeError, RepriseError, errorMessage } from "../types/errors.ts";
import { RpcErrorSchema } from "./gen/transport_pb.ts";
import { InternalRpcError, UnknownMethodError } from "./errors.ts";
import { joinChunks } from "./chunks.ts";

export const CONTENT_TYPE_PROTO = "application/proto";
export const CONTENT_TYPE_ERROR = "application/x-reprise-error+proto";
/** Header with the caller's timeout, so long-polling handlers answer before the caller gives up. */
export const TIMEOUT_HEADER = "reprise-timeout-ms";
export const DEFAULT_MAX_MESSAGE_BYTES = 64 << 20;

export interface CallContext {
  /** Aborted when the caller cancels or disconnects. */
  readonly signal: AbortSignal;
  /** Milliseconds the caller waits in total. */
  readonly timeoutMs: number;
}

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
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.destroy();
    await closed;
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const path = String(headers[":path"] ?? "");
    const mounted = this.streamRoutes.find((r) => path.startsWith(r.prefix));
    if (mounted !== undefined) return mounted.handle(stream, headers);
    // Made only for a handler that reads its signal (long polls): most calls never do, and building
    // a controller and its signal for each of them cost more than their own handling.
    let abort: AbortController | null = null;
    let cutShort = false;
    // Only a stream closed before its answer aborts the handler (an abort builds a DOMException, too costly per call).
    stream.on("close", () => {
      if (stream.headersSent) return;
      cutShort = true;
      abort?.abort();
    });
    // Errors on a stream the peer reset have no one to report to; the close above aborts the handler.
    stream.on("error", (e) => this.log.debug({ path, err: errorMessage(e) }, "rpc stream error"));
    const route = this.routes.get(path);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.maxMessageBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    stream.on("end", () => {
      if (!route) return this.respondError(stream, new UnknownMethodError(path));
      if (tooLarge) return this.respondError(stream, new PayloadTooLargeError(`request to ${path} exceeds ${this.maxMessageBytes} bytes`));
      const timeoutMs = Number(headers[TIMEOUT_HEADER] ?? 0) || 30_000;
      const ctx: CallContext = {
        timeoutMs,
        get signal() {
          if (abort === null) {
            abort = new AbortController();
            if (cutShort) abort.abort();
          }
          return abort.signal;
        },
      };
      void this.dispatch(stream, route, joinChunks(chunks), ctx, path);
    });
  }

  private async dispatch(stream: ServerHttp2Stream, route: Route, body: Buffer, ctx: CallContext, path: string): Promise<void> {
    let response: Uint8Array;
    try {
      const request = fromBinary(route.input, body);
      const init = (await route.handle(request, ctx)) as MessageInitShape<DescMessage>;
      response = toBinary(route.output, create(route.output, init));
    } catch (e) {
      if (!(e instanceof RepriseError)) this.log.error({ path, err: e }, "rpc handler failed");
      return this.respondError(stream, e);
    }
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ":status": 200, "content-type": CONTENT_TYPE_PROTO });
    stream.end(response);
  }

  private respondError(stream: ServerHttp2Stream, e: unknown): void {
    if (stream.destroyed || stream.closed) return;
    const error = e instanceof RepriseError ? e : new InternalRpcError(errorMessage(e));
    const body = toBinary(RpcErrorSchema, create(RpcErrorSchema, { code: error.code, message: error.message, retryable: error.retryable }));
    // Errors are answers, not broken streams: the client reads the code from the body.
    stream.respond({ ":status": error.httpStatus, "content-type": CONTENT_TYPE_ERROR });
    stream.end(body);
  }
}
