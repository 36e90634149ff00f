/** The SDK service the benchmark calls, run in its own process: `node --import tsx bench/sdk-service.ts`. */
import "../test/support/promise-with-resolvers.ts";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as restate from "@restatedev/restate-sdk";

const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (ctx: restate.Context, name: string) => ctx.run("compose", () => `Hello, ${name}!`),
  },
});

const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number) => {
      const next = ((await ctx.get<number>("value")) ?? 0) + n;
      ctx.set("value", next);
      return next;
    },
  },
});

const server = http2.createServer(restate.createEndpointHandler({ services: [greeter, counter] }));
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`SDK_READY ${(server.address() as AddressInfo).port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
