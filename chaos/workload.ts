import { setTimeout as sleep } from "node:timers/promises";
import { SET_SERVICE } from "./set-service.ts";

export interface WorkloadOptions {
  /** Where to send: the live ingresses right now (changes as nodes die and return). */
  readonly ingresses: () => readonly { node: string; url: string }[];
  /** The objects the adds go to. */
  readonly keys: readonly string[];
  /** Elements (and idempotency keys) start with this, so rounds never collide. */
  readonly tag: string;
  /** Concurrent clients. */
  readonly lanes: number;
  /** No new add starts after this many or after `until` (ms since the epoch). */
  readonly maxOps: number;
  readonly until: number;
  /** One HTTP attempt. */
  readonly requestTimeoutMs: number;
  /** One add, all its retries included; after it the add is indeterminate. */
  readonly opDeadlineMs: number;
  readonly signal: AbortSignal;
}

export type Outcome = "acked" | "indeterminate" | "rejected";

/** One add as the client saw it. */
export interface OpRecord {
  readonly key: string;
  readonly element: string;
  readonly outcome: Outcome;
  readonly attempts: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** The node whose ingress acknowledged it. */
  readonly ackedVia?: string;
  readonly lastError?: string;
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1_000;
const NO_INGRESS_POLL_MS = 200;

/**
 * Clients adding unique elements to a few objects through every live ingress in turn, each add
 * with an idempotency key and retried with the same key (on another ingress) after a 5xx, a
 * timeout or a connection error, until it is acknowledged or its deadline passes. A 4xx ends the
 * add as rejected. Bounded in count and in time.
 */
export async function runWorkload(o: WorkloadOptions): Promise<OpRecord[]> {
  const records: OpRecord[] = [];
  let issued = 0;
  let turn = 0;
  const lane = async (laneIndex: number): Promise<void> => {
    for (let seq = 0; ; seq++) {
      if (o.signal.aborted || issued >= o.maxOps || Date.now() >= o.until) return;
      issued++;
      const key = o.keys[(laneIndex + seq) % o.keys.length];
      records.push(await add(key, `${o.tag}-l${laneIndex}-${seq}`, () => turn++));
    }
  };

  const add = async (key: string, element: string, nextTurn: () => number): Promise<OpRecord> => {
    const startedAt = Date.now();
    const deadline = startedAt + o.opDeadlineMs;
    let attempts = 0;
    let lastError = "";
    let backoff = BACKOFF_MIN_MS;
    while (Date.now() < deadline && !o.signal.aborted) {
      const live = o.ingresses();
      if (live.length === 0) {
        lastError = "no live ingress";
        await sleep(NO_INGRESS_POLL_MS);
        continue;
      }
      const ingress = live[nextTurn() % live.length];
      attempts++;
      try {
        const res = await fetch(`${ingress.url}/${SET_SERVICE}/${encodeURIComponent(key)}/add`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": element },
          body: JSON.stringify(element),
          signal: AbortSignal.timeout(Math.min(o.requestTimeoutMs, Math.max(1, deadline - Date.now()))),
        });
        const body = await res.text();
        if (res.status === 200) return { key, element, outcome: "acked", attempts, startedAt, endedAt: Date.now(), ackedVia: ingress.node };
        lastError = `HTTP ${res.status} from ${ingress.node}: ${body.slice(0, 200)}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
          return { key, element, outcome: "rejected", attempts, startedAt, endedAt: Date.now(), lastError };
        }
      } catch (e) {
        lastError = `${ingress.node}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
      }
      await sleep(Math.min(backoff, Math.max(0, deadline - Date.now())));
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
    return { key, element, outcome: "indeterminate", attempts, startedAt, endedAt: Date.now(), lastError };
  };

  await Promise.all(Array.from({ length: o.lanes }, (_, i) => lane(i)));
  return records;
}

/** The list an object holds, read through any live ingress, retried until `deadline` (or an abort); null if no read succeeded. */
export async function readSet(ingresses: () => readonly { url: string }[], key: string, requestTimeoutMs: number, deadline: number, signal: AbortSignal): Promise<string[] | null> {
  let turn = 0;
  while (Date.now() < deadline && !signal.aborted) {
    const live = ingresses();
    if (live.length > 0) {
      try {
        const res = await fetch(`${live[turn++ % live.length].url}/${SET_SERVICE}/${encodeURIComponent(key)}/get`, {
          method: "POST",
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        if (res.status === 200) return (await res.json()) as string[];
      } catch {
        // Retried below.
      }
    }
    await sleep(NO_INGRESS_POLL_MS);
  }
  return null;
}
