import type { CommandHandler } from "../context.ts";

/**
 * The invoker chose the deployment for an invocation's first attempt. The first pin wins: a pin
 * proposed by an attempt that is no longer current, or for an invocation already pinned, changes nothing.
 */
export const pinDeployment: CommandHandler<"pin-deployment"> = (ctx, { id, deploymentId, protocolVersion }) => {
  const inv = ctx.tx.getInvocation(id);
  if (!inv || inv.status !== "invoked" || inv.pinnedDeployment !== undefined) return;
  ctx.tx.putInvocation({ ...inv, pinnedDeployment: { deploymentId, protocolVersion }, modifiedAt: ctx.ts });
};
