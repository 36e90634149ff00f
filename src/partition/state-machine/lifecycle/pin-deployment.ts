import type { InvocationStatus, PinnedDeployment } from "../../../types/invocation.ts";
import type { CommandHandler } from "../context.ts";

/** The invocation pinned to `pin` unless it already is pinned: the first pin wins. */
export function withPin(inv: InvocationStatus, pin: PinnedDeployment | undefined): InvocationStatus {
  if (pin === undefined || inv.pinnedDeployment !== undefined) return inv;
  return { ...inv, pinnedDeployment: { deploymentId: pin.deploymentId, protocolVersion: pin.protocolVersion } };
}

/**
 * A pin as a record of its own: from a first attempt that failed, or proposed something else,
 * before its first journal-command (which otherwise carries the pin). A pin proposed by an attempt
 * that is no longer current, or for an invocation already pinned, changes nothing.
 */
export const pinDeployment: CommandHandler<"pin-deployment"> = (ctx, { id, deploymentId, protocolVersion }) => {
  const inv = ctx.tx.getInvocation(id);
  if (!inv || inv.status !== "invoked" || inv.pinnedDeployment !== undefined) return;
  ctx.tx.putInvocation({ ...withPin(inv, { deploymentId, protocolVersion }), modifiedAt: ctx.ts });
};
