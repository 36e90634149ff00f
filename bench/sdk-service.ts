/**
 * The SDK service the benchmark calls, run in its own process: `node --import tsx bench/sdk-service.ts`.
 * Prints `{"event":"ready","port":<port>}` once it listens (the ready line of test/support/process.ts).
 */
import "../test/support/promise-with-resolvers.ts";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as restate from "@restatedev/restate-sdk";
import { counter, greeter } from "../test/support/example-services.ts";

const server = http2.createServer(restate.createEndpointHandler({ services: [greeter, counter] }));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ event: "ready", port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
