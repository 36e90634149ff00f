import { copyJournalPrefix } from "../partition/state-machine/journal-prefix.ts";
import type { Command } from "../partition/records.ts";
import { randomSeed } from "../partition/routing.ts";
import { newSpanId, newTraceId } from "../common/tracing.ts";
import type { SchemaView } from "../schema/schema.ts";
import { newInvocationId, partitionKeyOf } from "../types/ids.ts";
import type { InvocationStatus, JournalEntry } from "../types/invocation.ts";
import { resolveDeploymentPatch, type DeploymentPatch } from "./deployment-patch.ts";
import { InvocationOperationError } from "./invocation-errors.ts";

/** Restarting from a journal prefix needs the SDK's ctx.rand of protocol V6 on: it replays from the seed. */
const PREFIX_RESTART_MIN_PROTOCOL = 6;

export interface RestartRequest {
  /** Last journal entry copied (included); 0 keeps only the input. */
  readonly from: number;
  readonly deployment: DeploymentPatch;
}

/**
 * Checks a restart-as-new the way Restate does before proposing it, and builds the record: the new
 * id in the old one's partition (its journal is copied there), and the old seed when a prefix is
 * kept so the prefix replays the same.
 */
export function restartAsNewCommand(inv: InvocationStatus, journal: readonly JournalEntry[], req: RestartRequest, schema: SchemaView): Extract<Command, { t: "restart-as-new" }> {
  const { id } = inv;
  switch (inv.status) {
    case "inboxed":
    case "scheduled":
      throw new InvocationOperationError("invocation_not_started", `The invocation '${id}' cannot be restarted because it's not running yet.`);
    case "invoked":
    case "suspended":
    case "paused":
      throw new InvocationOperationError("invocation_still_running", `The invocation '${id}' is still running.`);
    case "completed":
      break;
  }
  if (journal.length === 0) {
    throw new InvocationOperationError(
      "invocation_input_missing",
      `The invocation '${id}' cannot be restarted because the input is not available. This indicates that the journal was already purged, or not retained at all.`,
    );
  }
  const unsupported = () =>
    new InvocationOperationError(
      "restart_unsupported",
      `Restarting the invocation '${id}' is not supported. Restarting workflows is not supported, and restarting from a journal prefix needs service protocol V${PREFIX_RESTART_MIN_PROTOCOL} or later.`,
    );
  if (inv.target.serviceType === "WORKFLOW") throw unsupported();
  if (req.from > 0 && (inv.pinnedDeployment?.protocolVersion ?? 0) < PREFIX_RESTART_MIN_PROTOCOL) throw unsupported();
  const deploymentId = resolveDeploymentPatch(req.deployment, inv, schema, "restart as new");
  const prefix = copyJournalPrefix(journal, req.from);
  if (prefix === "index_out_of_range") {
    throw new InvocationOperationError("journal_index_out_of_range", `The given index is out of range of currently stored journal for invocation '${id}'.`);
  }
  if (prefix === "missing_completion") {
    throw new InvocationOperationError(
      "journal_copy_range_invalid",
      `The prefix of the journal '${id}' up to 'from' (included) contains some Commands without respective Completions.`,
    );
  }
  return {
    t: "restart-as-new",
    id,
    newId: newInvocationId(partitionKeyOf(id)),
    from: req.from,
    randomSeed: req.from > 0 ? inv.randomSeed : randomSeed(),
    ...(deploymentId !== undefined ? { deploymentId } : {}),
    traceContext: { traceId: newTraceId(), spanId: newSpanId() },
  };
}
