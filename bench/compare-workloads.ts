/**
 * The workloads of the side-by-side benchmark and how one is measured against a server: load from
 * this process, the server's CPU time and memory from /proc, one-way sends followed until the SDK
 * service has handled every accepted one.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { SinkMessage } from "./bench-services.ts";
import type { CompareOptions, WorkloadName } from "./compare-options.ts";
import type { BenchTarget } from "./engine.ts";
import { runLoad, type LoadResult } from "./load.ts";
import { sampleProcess, sampleProcesses } from "./process-stats.ts";

const MAX_REQUESTS = 1_000_000;
const DRAIN_POLL_MS = 25;
/** Stats polls in a row that may fail before the drain is given up as unmeasurable. */
const DRAIN_POLL_FAILURES = 40;

/** A failed fetch's message with its cause (undici hides the socket error there). */
function describeFetchError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return e.cause instanceof Error ? `${e.message} (${e.cause.message})` : e.message;
}

export interface Workload {
  /** `<name>@low`, `<name>@sat`, or `overload`. */
  readonly id: string;
  readonly name: WorkloadName;
  readonly label: string;
  readonly concurrency: number;
  readonly durationMs: number;
  /** One-way sends, answered 202 once accepted; a call is answered 200 with its result. */
  readonly send: boolean;
  /** The sends run now, and are followed until the SDK service handled every accepted one. */
  readonly drains: boolean;
  path(i: number): string;
  body(i: number, tag: string): string;
}

/** How the one-way sends of a workload were handled after they were accepted. */
export interface DrainResult {
  /** Sends the SDK service handled (at least the accepted ones when `complete`). */
  readonly handled: number;
  /** From the first send until the last accepted one was handled. */
  readonly seconds: number;
  /** Handled per second, end to end: accepted sends over `seconds`. */
  readonly rate: number;
  /** From the end of the accepting phase until the last accepted send was handled. */
  readonly afterAcceptSeconds: number;
  /** False when the drain timeout ran out first. */
  readonly complete: boolean;
}

export interface WorkloadResult extends LoadResult {
  readonly workload: string;
  /** Server CPU time (user + system, every process and thread) over the run, per successful request. */
  readonly serverCpuMsPerOp: number;
  /** The SDK service's CPU time per successful request: the part of the machine's limit the server does not control. */
  readonly sdkCpuMsPerOp: number;
  /** Server resident memory at the end of the run. */
  readonly serverRssMiB: number;
  readonly drain?: DrainResult;
}

type Spec = Pick<Workload, "label" | "send" | "drains" | "path" | "body">;
const call = (label: string, path: (i: number) => string, body: (i: number) => string): Spec => ({ label, send: false, drains: false, path, body });
const sinkMessage = (i: number, tag: string): string => JSON.stringify({ tag, i } satisfies SinkMessage);

const SPEC: Record<Exclude<WorkloadName, "overload">, Spec> = {
  "1-step": call("1-step ctx.run", () => "/Greeter/greet", (i) => JSON.stringify(`user-${i}`)),
  "3-step": call("3-step", () => "/Steps/three", (i) => JSON.stringify(`user-${i}`)),
  "9-step": call("9-step", () => "/Steps/nine", (i) => JSON.stringify(`user-${i}`)),
  "counter-100": call("counter 100 keys", (i) => `/Counter/key-${i % 100}/add`, () => "1"),
  "hot-key": call("counter 1 hot key", () => "/Counter/hot/add", () => "1"),
  send: { label: "one-way send (accept)", send: true, drains: true, path: () => "/Sink/receive/send", body: sinkMessage },
  // The same sends with no invocation processing behind them: what accepting alone can do.
  "send-deferred": { label: "one-way send, run in 1 h (accept)", send: true, drains: false, path: () => "/Sink/receive/send?delay=1h", body: sinkMessage },
};

/** The workloads `opts` selects, in the table's order. */
export function selectWorkloads(opts: CompareOptions): Workload[] {
  const out: Workload[] = [];
  for (const name of opts.workloads) {
    if (name === "overload") {
      out.push({
        id: "overload",
        name,
        label: `overload ${opts.overloadKeys} keys`,
        concurrency: opts.overloadCallers,
        durationMs: opts.overloadDurationMs,
        send: false,
        drains: false,
        path: (i) => `/Counter/ol-${i % opts.overloadKeys}/add`,
        body: () => "1",
      });
      continue;
    }
    const spec = SPEC[name];
    for (const [level, concurrency] of [["low", opts.lowConcurrency], ["sat", opts.highConcurrency]] as const) {
      out.push({ id: `${name}@${level}`, name, durationMs: opts.durationMs, concurrency, ...spec });
    }
  }
  return out;
}

/** Waits until the SDK service has handled `accepted` sends of `tag`, or the timeout runs out. */
async function followDrain(statsUrl: string, tag: string, accepted: number, startedAt: number, acceptEndedAt: number, timeoutMs: number): Promise<DrainResult> {
  const deadline = performance.now() + timeoutMs;
  let handled = 0;
  let failures = 0;
  for (;;) {
    try {
      const res = await fetch(`${statsUrl}/received/${encodeURIComponent(tag)}`);
      if (res.status !== 200) throw new Error(`the SDK service's stats answered ${res.status}`);
      handled = ((await res.json()) as { count: number }).count;
      failures = 0;
    } catch (e) {
      // One poll of a saturated SDK process may fail (seen once as "fetch failed" after minutes of
      // load); the drain is still measured unless the stats stay unreachable.
      if (++failures >= DRAIN_POLL_FAILURES) throw new Error(`the SDK service's stats failed ${failures} times in a row: ${describeFetchError(e)}`);
    }
    const now = performance.now();
    if (handled >= accepted || now > deadline) {
      const seconds = (now - startedAt) / 1000;
      return { handled, seconds, rate: accepted / seconds, afterAcceptSeconds: (now - acceptEndedAt) / 1000, complete: handled >= accepted };
    }
    await sleep(DRAIN_POLL_MS);
  }
}

/** Runs `w` against `target` and measures it. `tag` names this run's one-way sends (unique per engine and workload). */
export async function measureWorkload(
  target: BenchTarget,
  sdk: { pid: number; statsUrl: string },
  w: Workload,
  tag: string,
  drainTimeoutMs: number,
): Promise<WorkloadResult> {
  const { ingresses } = target;
  const serverBefore = sampleProcesses(target.serverPids);
  const sdkBefore = sampleProcess(sdk.pid);
  const startedAt = performance.now();
  const load = await runLoad({
    name: `${w.label} (c=${w.concurrency})`,
    url: ingresses[0],
    pathFor: (i) => `${ingresses[i % ingresses.length]}${w.path(i)}`,
    body: (i) => w.body(i, tag),
    concurrency: w.concurrency,
    durationMs: w.durationMs,
    maxRequests: MAX_REQUESTS,
    okStatus: w.send ? 202 : 200,
  });
  const drain = w.drains ? await followDrain(sdk.statsUrl, tag, load.requests, startedAt, startedAt + load.seconds * 1000, drainTimeoutMs) : undefined;
  const serverAfter = sampleProcesses(target.serverPids);
  const sdkAfter = sampleProcess(sdk.pid);
  const ops = Math.max(1, load.requests);
  return {
    ...load,
    workload: w.id,
    serverCpuMsPerOp: (serverAfter.cpuMs - serverBefore.cpuMs) / ops,
    sdkCpuMsPerOp: (sdkAfter.cpuMs - sdkBefore.cpuMs) / ops,
    serverRssMiB: serverAfter.rssMiB,
    ...(drain === undefined ? {} : { drain }),
  };
}
