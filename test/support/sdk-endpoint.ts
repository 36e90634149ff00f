import "./promise-with-resolvers.ts";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";
import * as restate from "@restatedev/restate-sdk";

export interface SdkEndpoint {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export type ServiceDefinitions = Parameters<typeof restate.createEndpointHandler>[0]["services"];

export interface SdkEndpointOptions {
  port?: number;
  /** false: request/response only (over HTTP/2 too). Over HTTP/1.1 the SDK defaults to request/response. */
  bidirectional?: boolean;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Serve HTTP/1.1 only (the SDK's Node handler on `http.createServer`), as on hosts without HTTP/2. */
  http1?: boolean;
  /** `publickeyv1_...` keys: the SDK accepts only requests signed with one of them. */
  identityKeys?: string[];
}

/** Serves real SDK handlers on a loopback port: over HTTP/2 (h2c) exactly as `restate.serve` does, or over HTTP/1.1. */
export async function startSdkEndpoint(services: ServiceDefinitions, opts: SdkEndpointOptions = {}): Promise<SdkEndpoint> {
  const host = opts.host ?? "127.0.0.1";
  const handler = restate.createEndpointHandler({
    services,
    ...(opts.bidirectional !== undefined ? { bidirectional: opts.bidirectional } : {}),
    ...(opts.identityKeys ? { identityKeys: opts.identityKeys } : {}),
  });
  const closeConnections = new Set<() => void>();
  let server: http.Server | http2.Http2Server;
  if (opts.http1) {
    const h1 = http.createServer(handler);
    h1.on("connection", (s: Socket) => {
      const destroy = () => s.destroy();
      closeConnections.add(destroy);
      s.on("close", () => closeConnections.delete(destroy));
    });
    server = h1;
  } else {
    const h2 = http2.createServer(handler);
    h2.on("session", (s) => {
      const destroy = () => s.destroy();
      closeConnections.add(destroy);
      s.on("close", () => closeConnections.delete(destroy));
    });
    server = h2;
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const destroy of closeConnections) destroy();
        server.close(() => resolve());
      }),
  };
}
