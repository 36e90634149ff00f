import "./promise-with-resolvers.ts";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as restate from "@restatedev/restate-sdk";

export interface SdkEndpoint {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export type ServiceDefinitions = Parameters<typeof restate.createEndpointHandler>[0]["services"];

/** Serves real SDK handlers over HTTP/2 (h2c) on a loopback port, exactly as `restate.serve` does. */
export async function startSdkEndpoint(
  services: ServiceDefinitions,
  opts: { port?: number; bidirectional?: boolean; /** Defaults to 127.0.0.1. */ host?: string } = {},
): Promise<SdkEndpoint> {
  const host = opts.host ?? "127.0.0.1";
  const server = http2.createServer(restate.createEndpointHandler({ services, ...(opts.bidirectional === false ? { bidirectional: false } : {}) }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
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
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
