import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import * as restate from "@restatedev/restate-sdk";
import type { HooksProvider } from "@restatedev/restate-sdk";
import { loadConfig } from "../../src/cluster/config.ts";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.ts";

/** The awakeable the callee waits on, so the test can look at the trace while its attempt runs. */
const gate: { id?: string } = {};

let receiver: OtlpReceiver;
let deploymentTracing: BasicTracerProvider;

/**
 * What an application does with the SDK's hooks to trace its handlers: each attempt's span is a
 * child of the `traceparent` the runtime sent with the attempt.
 */
const traced: HooksProvider = ({ request }) => ({
  interceptor: {
    handler: async (next) => {
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-/.exec(String(request.attemptHeaders.get("traceparent") ?? ""));
      const parent = m ? trace.setSpanContext(ROOT_CONTEXT, { traceId: m[1]!, spanId: m[2]!, traceFlags: TraceFlags.SAMPLED, isRemote: true }) : ROOT_CONTEXT;
      const span = deploymentTracing.getTracer("handlers").startSpan(`handler ${request.target.service}/${request.target.handler}`, {}, parent);
      try {
        await next();
      } finally {
        span.end();
      }
    },
  },
});

const callee = restate.service({
  name: "Callee",
  handlers: {
    greet: async (ctx: restate.Context, name: string) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => void (gate.id = id));
      return `${await promise}, ${name}`;
    },
  },
  options: { hooks: [traced] },
});

const caller = restate.service({
  name: "Caller",
  handlers: {
    run: async (ctx: restate.Context, name: string) => ctx.serviceClient(callee).greet(name),
  },
  options: { hooks: [traced] },
});

describe("OpenTelemetry: one trace from the ingress through the caller's and the callee's attempts", () => {
  let fixture: Fixture;
  const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const clientSpan = "00f067aa0ba902b7";

  const one = (name: string): ReceivedSpan => {
    const found = receiver.spans.filter((s) => s.name === name);
    assert.equal(found.length, 1, `one span named '${name}', got ${found.length}: ${receiver.spans.map((s) => s.name).join(", ")}`);
    return found[0]!;
  };

  before(async () => {
    receiver = await startOtlpReceiver();
    deploymentTracing = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "deployment" }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: receiver.url }))],
    });
    fixture = await startFixture({ services: [caller, callee], config: { tracing: { endpoint: receiver.url, serviceName: "reprise-test" } } });
  });

  after(async () => {
    await fixture.stop();
    await deploymentTracing.shutdown();
    await receiver.close();
  });

  it("the spans of a call that calls another service, published as attempts start and joined by the SDK's spans", async () => {
    const call = callJson(fixture.ingress, "/Caller/run", "Ada", { traceparent: `00-${clientTrace}-${clientSpan}-01` });

    // While the callee waits, its attempt has started: that much of the trace is out already.
    await eventually(() => gate.id !== undefined, 10_000, "the callee to wait on its awakeable");
    await eventually(() => receiver.spans.some((s) => s.name === "attempt started" && s.attributes["restate.invocation.target"] === "Callee/greet"), 10_000, "the callee's attempt start to be exported");
    assert.equal(receiver.spans.filter((s) => s.name === "attempt Callee/greet").length, 0, "the running attempt's own span is not ended yet");

    const resolved = await fetch(`${fixture.ingress}/restate/awakeables/${gate.id}/resolve`, { method: "POST", headers: { "content-type": "application/json" }, body: '"Hello"' });
    assert.equal(resolved.status, 202);
    const answer = await call;
    assert.equal(answer.status, 200);
    assert.equal(await answer.json(), "Hello, Ada");
    const callerId = answer.headers.get("x-restate-id")!;

    const expected = ["ingress Caller/run", "invoke Caller/run", "attempt Caller/run", "handler Caller/run", "invoke Callee/greet", "attempt Callee/greet", "handler Callee/greet"];
    await eventually(() => expected.every((n) => receiver.spans.some((s) => s.name === n)), 15_000, `spans ${expected.join(", ")}`);

    const ingress = one("ingress Caller/run");
    const callerInvocation = one("invoke Caller/run");
    const callerAttempt = one("attempt Caller/run");
    const callerHandler = one("handler Caller/run");
    const calleeInvocation = one("invoke Callee/greet");
    const calleeAttempt = one("attempt Callee/greet");
    const calleeHandler = one("handler Callee/greet");

    for (const s of receiver.spans) assert.equal(s.traceId, clientTrace, `${s.name} is in the client's trace`);
    assert.equal(ingress.parentSpanId, clientSpan, "the ingress continues the client's traceparent");
    assert.equal(callerInvocation.parentSpanId, ingress.spanId);
    assert.equal(callerAttempt.parentSpanId, callerInvocation.spanId);
    assert.equal(callerHandler.parentSpanId, callerAttempt.spanId, "the SDK's span joined through the traceparent the attempt sent");
    assert.equal(calleeInvocation.parentSpanId, callerAttempt.spanId, "the call is a child of the attempt that made it");
    assert.equal(calleeAttempt.parentSpanId, calleeInvocation.spanId);
    assert.equal(calleeHandler.parentSpanId, calleeAttempt.spanId);
    for (const attempt of [callerAttempt, calleeAttempt]) {
      const started = receiver.spans.filter((s) => s.name === "attempt started" && s.parentSpanId === attempt.spanId);
      assert.equal(started.length, 1, `${attempt.name} announced its start`);
      assert.ok(started[0]!.receivedAt < attempt.receivedAt, `${attempt.name}'s start was exported before its end`);
    }

    assert.equal(callerInvocation.attributes["restate.invocation.id"], callerId);
    assert.equal(callerAttempt.attributes["restate.invocation.attempt"], 1);
    assert.equal(callerInvocation.serviceName, "reprise-test");
    // The invocation runs from its creation to the record of its completion; its attempt starts within it.
    assert.ok(callerInvocation.startNs <= callerAttempt.startNs && callerAttempt.startNs <= callerInvocation.endNs, "the attempt starts while the invocation runs");
    assert.ok(calleeInvocation.endNs <= callerInvocation.endNs, "the callee completes before its caller");

    const res = await fetch(`${fixture.admin}/query`, {
      method: "POST",
      headers: { accept: "application/json" },
      body: JSON.stringify({ query: `SELECT id, trace_id FROM sys_invocation_status ORDER BY created_at` }),
    });
    const rows = ((await res.json()) as { rows: { id: string; trace_id: string }[] }).rows;
    assert.deepEqual(rows.map((r) => r.trace_id), [clientTrace, clientTrace], "sys_invocation_status.trace_id of the caller and the callee");
  });

  it("without a client traceparent a request starts its own trace; tracing config is checked", async () => {
    gate.id = undefined;
    const answer = callJson(fixture.ingress, "/Caller/run", "Grace");
    await eventually(() => gate.id !== undefined, 10_000, "the second callee to wait on its awakeable");
    await fetch(`${fixture.ingress}/restate/awakeables/${gate.id}/resolve`, { method: "POST", headers: { "content-type": "application/json" }, body: '"Hi"' });
    assert.equal((await answer).status, 200);
    // The ingress thread exports its spans in batches of its own, apart from the invocation's.
    const count = (name: string) => receiver.spans.filter((s) => s.name === name).length;
    await eventually(() => count("invoke Caller/run") === 2 && count("ingress Caller/run") === 2, 15_000, "the second caller's invocation and ingress spans");
    const second = receiver.spans.filter((s) => s.name === "ingress Caller/run")[1]!;
    assert.notEqual(second.traceId, clientTrace);
    assert.equal(second.parentSpanId, "", "a root span");

    assert.throws(() => loadConfig({ overrides: { tracing: { endpoint: "localhost:4318" } } }), /tracing\.endpoint must be an http:\/\/ or https:\/\/ OTLP\/HTTP traces URL/);
    assert.throws(() => loadConfig({ overrides: { tracing: { serviceName: " " } } }), /tracing\.service_name must not be empty/);
  });
});
