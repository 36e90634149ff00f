import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { once } from "node:events";
import { Code, createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { Logger } from "../../common/logger.ts";
import { errorMessage } from "../../types/errors.ts";
import type { StreamRoute } from "../server.ts";
import { repriseErrorsAsStatus } from "./grpc-errors.ts";
import { zstdRequestBodies } from "./zstd.ts";

const GRPC_CONTENT_TYPE = "application/grpc";

/**
 * gRPC (protobuf over HTTP/2 with trailers) for every path under `prefix`, through ConnectRPC's
 * router, as a route of the node's RPC server. ConnectRPC's own Node adapter works on the `http2`
 * compatibility API, but the RPC server dispatches raw streams, so this adapter hands each stream
 * to the router's universal handler and writes its answer back.
 */
export function grpcRoute(prefix: string, routes: (router: ConnectRouter) => void, log: Logger): StreamRoute {
  const router = createConnectRouter({
    grpc: true,
    grpcWeb: false,
    connect: false,
    acceptCompression: [zstdRequestBodies],
    compressMinBytes: Number.MAX_SAFE_INTEGER,
    interceptors: [repriseErrorsAsStatus],
  });
  routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return {
    prefix,
    handle: (stream, headers) => {
      const path = String(headers[":path"] ?? "");
      // Errors on a stream the peer reset have no one to report to; the close aborts the call.
      stream.on("error", (e) => log.debug({ path, err: errorMessage(e) }, "grpc stream error"));
      const handler = handlers.get(path);
      if (handler === undefined) {
        stream.resume();
        return respondStatus(stream, Code.Unimplemented, `${path} is not served by this node`);
      }
      serve(stream, headers, handler).catch((e: unknown) => {
        // A peer that went away mid-answer is no failure of ours.
        if (stream.destroyed || stream.closed) return log.debug({ path, err: errorMessage(e) }, "grpc caller went away");
        log.error({ path, err: errorMessage(e) }, "grpc call failed");
        respondStatus(stream, Code.Internal, errorMessage(e));
      });
    },
  };
}

async function serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, handler: UniversalHandler): Promise<void> {
  const abort = new AbortController();
  stream.once("close", () => abort.abort());
  const header = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    header.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const response = await handler({
    httpVersion: "2.0",
    method: String(headers[":method"] ?? ""),
    url: `http://${String(headers[":authority"] ?? "localhost")}${String(headers[":path"])}`,
    header,
    body: stream,
    signal: abort.signal,
  });
  await writeResponse(stream, response, abort.signal);
}

/** `closed` ends a wait for the peer to read (a stream closed before draining never drains). */
async function writeResponse(stream: ServerHttp2Stream, response: UniversalServerResponse, closed: AbortSignal): Promise<void> {
  if (stream.destroyed || stream.closed) return;
  const head: OutgoingHttpHeaders = { ":status": response.status };
  response.header?.forEach((value, name) => (head[name] = value));
  const trailers: OutgoingHttpHeaders = {};
  response.trailer?.forEach((value, name) => (trailers[name] = value));
  const hasTrailers = Object.keys(trailers).length > 0;
  stream.respond(head, { waitForTrailers: hasTrailers });
  if (hasTrailers) stream.once("wantTrailers", () => stream.sendTrailers(trailers));
  if (response.body !== undefined) {
    for await (const chunk of response.body) {
      if (stream.destroyed) return;
      if (!stream.write(chunk)) await once(stream, "drain", { signal: closed });
    }
  }
  stream.end();
}

/** A trailers-only gRPC answer: the status in the one HEADERS frame that ends the stream. */
function respondStatus(stream: ServerHttp2Stream, code: Code, message: string): void {
  if (stream.destroyed || stream.closed) return;
  // Too late for a status: the answer was under way, so the stream is reset instead.
  if (stream.headersSent) return stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  stream.respond(
    { ":status": 200, "content-type": GRPC_CONTENT_TYPE, "grpc-status": String(code), "grpc-message": encodeURIComponent(message) },
    { endStream: true },
  );
}
