import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import { eventually } from "../support/eventually.ts";
import { callJson, registerDeployment, tempDir } from "../support/reprise.ts";
import { startServerProcess, type ServerProcess } from "../support/reprise-server.ts";

// Observations made by the service itself: the test's source of truth about side effects.
const napStarted = new Map<string, number>();
const napCompleted = new Map<string, number>();
const napStored = new Map<string, () => void>();
const effectRuns = new Map<string, number>();
const effectCompleted = new Map<string, number>();
const afterRunSignals = new Map<string, () => void>();
const ledgerEffects = new Map<number, number>();
const approvalIds = new Map<string, string>();

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

const sleeper = restate.service({
  name: "Sleeper",
  handlers: {
    nap: async (ctx: restate.Context, tag: string) => {
      await ctx.run("started", () => void bump(napStarted, tag));
      // ctx.run returned, so "started" is durable: the test may kill the server from here on.
      napStored.get(tag)?.();
      await ctx.sleep(1500);
      await ctx.run("completed", () => void bump(napCompleted, tag));
      return tag;
    },
  },
});

const effects = restate.service({
  name: "Effects",
  handlers: {
    once: async (ctx: restate.Context, tag: string) => {
      await ctx.run("effect", () => void bump(effectRuns, tag));
      // The result of `effect` is durable once ctx.run returns: this is the moment the test kills.
      afterRunSignals.get(tag)?.();
      await ctx.sleep(300);
      await ctx.run("completed", () => void bump(effectCompleted, tag));
      return tag;
    },
  },
});

const ledger = restate.object({
  name: "Ledger",
  handlers: {
    record: async (ctx: restate.ObjectContext, req: number) => {
      await ctx.run("effect", () => {
        ledgerEffects.set(req, (ledgerEffects.get(req) ?? 0) + 1);
      });
      const seen = (await ctx.get<number[]>("seen")) ?? [];
      ctx.set("seen", [...seen, req]);
    },
    seen: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext) => (await ctx.get<number[]>("seen")) ?? []),
  },
});

const approvals = restate.service({
  name: "Approvals",
  handlers: {
    ask: async (ctx: restate.Context, tag: string) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => void approvalIds.set(tag, id));
      return `approved: ${await promise}`;
    },
  },
});

// Both ways a single node runs its partitions: on its main thread, and on partition threads.
const MODES = [
  ["partitions on the main thread", "1"],
  ["partitions on 2 threads", "2"],
] as const;

for (const [mode, threads] of MODES) describe(`crash recovery: kill -9 the server (${mode})`, () => {
  const dir = tempDir();
  const args = ["--partitions", "2", "--worker-threads", threads];
  // Tags name invocations across both suites, whose observations share the maps above.
  const tag = (name: string) => `${name}-t${threads}`;
  let sdk: SdkEndpoint;
  let server: ServerProcess;

  before(async () => {
    sdk = await startSdkEndpoint([sleeper, effects, ledger, approvals]);
    server = await startServerProcess(dir.path, args);
    assert.equal((await registerDeployment(server.admin, sdk.url)).status, 201);
  });

  after(async () => {
    await server.stop();
    await sdk.close();
    dir.remove();
  });

  const restart = async () => {
    await server.kill9();
    server = await startServerProcess(dir.path, args);
  };

  it("completes a ctx.sleep exactly once across a kill -9 and restart", async () => {
    const stored = new Promise<void>((r) => napStored.set(tag("nap-1"), r));
    const res = await callJson(server.ingress, "/Sleeper/nap/send", tag("nap-1"));
    assert.equal(res.status, 202);
    await stored;
    await restart();
    await eventually(() => napCompleted.get(tag("nap-1")) === 1, 20_000, "sleep to complete after restart");
    assert.equal(napStarted.get(tag("nap-1")), 1, "the step before the sleep ran again");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(napCompleted.get(tag("nap-1")), 1);
  });

  it("completes a handler waiting on an awakeable resolved after a server restart", async () => {
    const send = await callJson(server.ingress, "/Approvals/ask/send", tag("after-restart"));
    const { invocationId } = (await send.json()) as { invocationId: string };
    await eventually(() => approvalIds.has(tag("after-restart")), 10_000, "awakeable to be published");
    await restart();
    const id = approvalIds.get(tag("after-restart"))!;
    const resolved = await fetch(`${server.ingress}/restate/awakeables/${id}/resolve`, { method: "POST", headers: { "content-type": "application/json" }, body: '"later"' });
    assert.equal(resolved.status, 202);
    const out = await fetch(`${server.ingress}/restate/invocation/${invocationId}/attach`);
    assert.equal(out.status, 200);
    assert.equal(await out.json(), "approved: later");
    // An awakeable of an invocation that never existed (well-formed id, unknown invocation).
    const unknown = "sign_1" + Buffer.alloc(28, 7).toString("base64url");
    assert.equal((await fetch(`${server.ingress}/restate/awakeables/${unknown}/resolve`, { method: "POST", body: "1" })).status, 404);
  });

  it("never re-runs a ctx.run whose result was stored before the crash", async () => {
    const stored = new Promise<void>((r) => afterRunSignals.set(tag("eff-1"), r));
    const res = await callJson(server.ingress, "/Effects/once/send", tag("eff-1"));
    assert.equal(res.status, 202);
    await stored;
    await restart();
    await eventually(() => effectCompleted.get(tag("eff-1")) === 1, 20_000, "invocation to complete after restart");
    assert.equal(effectRuns.get(tag("eff-1")), 1, "side effect ran again after its result was stored");
  });

  it("loses and duplicates nothing that was acknowledged when killed under load", async () => {
    ledgerEffects.clear();
    const acknowledged = new Set<number>();
    const deadline = Date.now() + 8_000;
    let next = 0;
    let killed = false;
    const concurrency = 16;
    const total = 600;
    const worker = async () => {
      while (next < total && Date.now() < deadline && !killed) {
        const req = next++;
        try {
          const res = await callJson(server.ingress, `/Ledger/acct-${req % 10}/record/send`, req);
          if (res.status === 202 && res.headers.get("x-restate-id")) acknowledged.add(req);
        } catch {
          // Connection cut by the kill: not acknowledged, so no promise was made.
        }
      }
    };
    const workers = Array.from({ length: concurrency }, worker);
    await eventually(() => acknowledged.size >= 150, 10_000, "some load to be acknowledged");
    killed = true;
    await server.kill9();
    await Promise.all(workers);
    server = await startServerProcess(dir.path, args);

    const seenAll = async () => {
      const lists = await Promise.all(
        Array.from({ length: 10 }, async (_, k) => (await (await callJson(server.ingress, `/Ledger/acct-${k}/seen`)).json()) as number[]),
      );
      return lists.flat();
    };
    await eventually(async () => {
      const seen = new Set(await seenAll());
      return [...acknowledged].every((r) => seen.has(r));
    }, 30_000, "every acknowledged request to be applied");
    const seen = await seenAll();
    assert.equal(new Set(seen).size, seen.length, "a request was applied twice");
    for (const r of acknowledged) assert.ok((ledgerEffects.get(r) ?? 0) >= 1, `request ${r} never ran its side effect`);
    // A side effect may repeat only if the kill hit between running it and storing its result:
    // at most the invocations in flight at that moment (one per object key).
    const repeated = [...ledgerEffects.values()].filter((n) => n > 1).length;
    assert.ok(repeated <= 10, `${repeated} side effects ran more than once`);
  });
});
