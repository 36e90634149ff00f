import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Node } from "../../src/cluster/node.ts";
import { greeter } from "../support/example-services.ts";
import { callJson, registerDeployment, startInProcess, tempDir } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";

/** Runs `script` in a child process, which must print one JSON line; resolves with it. */
function child<T>(script: string): { started: Promise<void>; answer: Promise<T> } {
  const proc = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout.on("data", (b: Buffer) => (out += b.toString()));
  return {
    started: new Promise((resolve) => proc.once("spawn", () => resolve())),
    answer: new Promise((resolve, reject) => proc.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`child exited with ${code}: ${out}`))))),
  };
}

function spin(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

describe("the ingress runs on a thread of its own", () => {
  const tmp = tempDir("reprise-ingress-thread-");
  let node: Node;
  let sdk: SdkEndpoint;
  let ingress: string;

  before(async () => {
    sdk = await startSdkEndpoint([greeter]);
    node = await startInProcess(tmp.path);
    ingress = `http://127.0.0.1:${node.ingressPort}`;
    assert.equal((await registerDeployment(`http://127.0.0.1:${node.adminPort}`, sdk.url)).status, 201);
  });

  after(async () => {
    await node?.stop();
    await sdk?.close();
    tmp.remove();
  });

  it("accepts and answers clients while the node's main thread is busy", async () => {
    // 50 new connections at once, each asking for a service that does not exist: the ingress
    // answers from its schema, without the main thread, which spins meanwhile.
    const { started, answer } = child<{ statuses: number[]; codes: string[]; lastAt: number }>(`
      const bodies = await Promise.all(Array.from({ length: 50 }, () => fetch(${JSON.stringify(ingress)} + "/Missing/handler", { method: "POST" })
        .then(async (r) => ({ status: r.status, body: await r.json() }))));
      console.log(JSON.stringify({ statuses: bodies.map((b) => b.status), codes: bodies.map((b) => b.body.error_code), lastAt: Date.now() }));`);
    await started;
    const spinStarted = Date.now();
    spin(4_000);
    const spinEnded = Date.now();
    const result = await answer;
    assert.deepEqual(new Set(result.statuses), new Set([404]));
    assert.deepEqual(new Set(result.codes), new Set(["service_not_found"]));
    assert.ok(result.lastAt < spinEnded, `the last answer came ${result.lastAt - spinStarted} ms into a ${spinEnded - spinStarted} ms spin of the main thread`);
  });

  it("a call waits for the main thread and then gets its result", async () => {
    const res = await callJson(ingress, "/Greeter/greet", "Ada");
    assert.equal(res.status, 200);
    assert.equal(await res.json(), "Hello, Ada!");
  });

  it("a node whose ingress port is taken fails to start, naming the address", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    const other = tempDir("reprise-ingress-thread-taken-");
    try {
      await assert.rejects(startInProcess(other.path, { ingress: { port } }), new RegExp(`EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
    } finally {
      blocker.close();
      other.remove();
    }
  });
});
