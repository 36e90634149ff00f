import type { InvocationId } from "../../../types/ids.ts";
import { needsKeyLock, type InvocationStatus } from "../../../types/invocation.ts";
import type { ApplyContext } from "../context.ts";

/**
 * Runs the invocation now, or queues it in the inbox behind the current holder of its object or
 * workflow key: exclusive handlers of one key run one at a time, in arrival order.
 */
export function schedule(ctx: ApplyContext, status: InvocationStatus): void {
  const { tx } = ctx;
  const { target } = status;
  if (needsKeyLock(target)) {
    const key = target.key ?? "";
    const holder = tx.getKeyLock(target.service, key);
    if (holder !== null && holder !== status.id) {
      const seq = tx.nextCounter("inbox");
      tx.pushInbox(target.service, key, status.id, seq);
      tx.putInvocation({ ...status, status: "inboxed", inboxedAt: ctx.ts, modifiedAt: ctx.ts });
      return;
    }
    tx.setKeyLock(target.service, key, status.id);
  }
  tx.putInvocation({ ...status, status: "invoked", runningAt: ctx.ts, modifiedAt: ctx.ts });
  ctx.emit({ t: "invoke", id: status.id });
}

/** Hands the key to the oldest invocation queued for it, if `holder` still holds it. */
export function releaseKeyLock(ctx: ApplyContext, service: string, key: string, holder: InvocationId): void {
  const { tx } = ctx;
  if (tx.getKeyLock(service, key) !== holder) return;
  tx.setKeyLock(service, key, null);
  const next = tx.peekInbox(service, key);
  if (!next) return;
  tx.popInbox(service, key, next.seq);
  const status = tx.getInvocation(next.invocationId);
  if (status && status.status === "inboxed") schedule(ctx, status);
}

/** Takes an invocation that no longer waits for its key out of the inbox. */
export function leaveInbox(ctx: ApplyContext, id: InvocationId): void {
  const entry = ctx.tx.listInbox().find((e) => e.invocationId === id);
  if (entry) ctx.tx.popInbox(entry.service, entry.key, entry.seq);
}
