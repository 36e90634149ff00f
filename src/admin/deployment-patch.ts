import type { DeploymentSchema, SchemaView } from "../schema/schema.ts";
import type { InvocationStatus } from "../types/invocation.ts";
import { InvocationOperationError } from "./invocation-errors.ts";

/** Restate's `deployment` parameter of resume and restart-as-new: keep the pin, the newest deployment, or one by id. */
export type DeploymentPatch = { readonly kind: "keep" } | { readonly kind: "latest" } | { readonly kind: "id"; readonly id: string };

const DEPLOYMENT_ID = /^dp_[0-9A-Za-z]+$/;

/** Parses the query parameter (absent: `absent`); Restate accepts Keep/keep, Latest/latest or a deployment id. */
export function parseDeploymentPatch(value: string | null, absent: DeploymentPatch): DeploymentPatch {
  if (value === null) return absent;
  if (value === "keep" || value === "Keep") return { kind: "keep" };
  if (value === "latest" || value === "Latest") return { kind: "latest" };
  if (DEPLOYMENT_ID.test(value)) return { kind: "id", id: value };
  throw new InvocationOperationError(
    "invalid_query_parameter",
    `The query parameter 'deployment' is invalid. Reason: '${value}' is neither 'keep', 'latest' nor a deployment id (dp_...)`,
  );
}

/**
 * The deployment `inv` moves to, or undefined to keep its pin. A deployment must exist and speak the
 * protocol version the invocation is pinned to; an invocation not pinned yet can only go to the
 * newest deployment, which it would pick anyway.
 */
export function resolveDeploymentPatch(patch: DeploymentPatch, inv: InvocationStatus, schema: SchemaView, operation: string): string | undefined {
  if (patch.kind === "keep") return undefined;
  const pinned = inv.pinnedDeployment;
  if (pinned === undefined) {
    if (patch.kind === "latest") return undefined;
    throw new InvocationOperationError(
      "cannot_change_deployment",
      `The invocation '${inv.id}' is still running or the deployment id is not pinned yet, deployment id cannot be changed.`,
    );
  }
  const deployment: DeploymentSchema | undefined = patch.kind === "latest" ? schema.deploymentForService(inv.target.service) : schema.deployment(patch.id);
  if (!deployment) {
    throw new InvocationOperationError("deployment_not_found", `The given deployment was not found when trying to ${operation} the invocation '${inv.id}'.`);
  }
  if (pinned.protocolVersion < deployment.minProtocolVersion || pinned.protocolVersion > deployment.maxProtocolVersion) {
    throw new InvocationOperationError(
      "incompatible_deployment",
      `The invocation '${inv.id}' is running on protocol version '${pinned.protocolVersion}', while the chosen deployment '${deployment.id}' supports the range ${deployment.minProtocolVersion}..=${deployment.maxProtocolVersion}.`,
    );
  }
  return deployment.id;
}
