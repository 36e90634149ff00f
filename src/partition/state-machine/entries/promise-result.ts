import type { PromiseEntry } from "../../../storage/partition-store.ts";
import type { InvocationResult } from "../../../types/invocation.ts";

/** The result a completed (resolved or rejected) workflow promise hands to its readers. */
export function promiseResult(p: PromiseEntry): InvocationResult {
  return p.state === "resolved"
    ? { kind: "success", value: p.value ?? new Uint8Array() }
    : { kind: "failure", code: p.failure?.code ?? 500, message: p.failure?.message ?? "" };
}
