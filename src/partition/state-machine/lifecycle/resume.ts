import type { InvocationStatus } from "../../../types/invocation.ts";
import type { CommandHandler } from "../context.ts";

/**
 * An operator resumes the invocation: a paused or suspended one runs again (replaying its journal),
 * on another deployment when the command names one; one backing off between retries is retried now.
 */
export const resume: CommandHandler<"resume"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.id);
  if (!inv) return;
  if (inv.status === "paused" || inv.status === "suspended") {
    const { awaiting: _dropped, ...rest } = inv;
    ctx.tx.putInvocation({ ...rest, status: "invoked", ...repinned(inv, c.deploymentId), modifiedAt: ctx.ts });
    ctx.emit({ t: "invoke", id: c.id });
  } else if (inv.status === "invoked") {
    ctx.emit({ t: "invoke", id: c.id });
  }
};

/** The pin moved to `deploymentId`; an invocation not pinned yet picks its deployment on its first attempt anyway. */
export function repinned(inv: InvocationStatus, deploymentId: string | undefined): Pick<InvocationStatus, "pinnedDeployment"> {
  if (deploymentId === undefined || inv.pinnedDeployment === undefined) return {};
  return { pinnedDeployment: { ...inv.pinnedDeployment, deploymentId } };
}
