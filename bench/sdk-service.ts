/**
 * The SDK service the benchmark calls, run in its own process: `node --import tsx bench/sdk-service.ts`.
 * Prints `{"event":"ready","port":<port>,"statsPort":<port>}` once it listens (the ready line of
 * test/support/process.ts). `port` is the deployment (HTTP/2); `statsPort` answers
 * `GET /received/<tag>` with `{"count":n}`, how many one-way sends of that run were handled.
 */
import "../test/support/promise-with-resolvers.ts";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as restate from "@restatedev/restate-sdk";
import { counter, greeter } from "../test/support/example-services.ts";
import { receivedCount, sink, steps } from "./bench-services.ts";

const listen = (server: http.Server | http2.Http2Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));

const deployment = http2.createServer(restate.createEndpointHandler({ services: [greeter, counter, steps, sink] }));
const stats = http.createServer((req, res) => {
  const m = /^\/received\/([^/?]+)$/.exec(req.url ?? "");
  if (req.method !== "GET" || m === null) return void res.writeHead(404).end();
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ count: receivedCount(decodeURIComponent(m[1])) }));
});
const [port, statsPort] = await Promise.all([listen(deployment), listen(stats)]);
process.stdout.write(`${JSON.stringify({ event: "ready", port, statsPort })}\n`);
process.on("SIGTERM", () => {
  stats.close();
  deployment.close(() => process.exit(0));
});
