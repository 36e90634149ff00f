import type { InvocationDispatcher } from "../partition/dispatcher.ts";
import { sendJson } from "../common/http-util.ts";
import type { SchemaView } from "../schema/schema.ts";
import { BadRequestError } from "../types/errors.ts";
import { parseInvocationId, type InvocationId } from "../types/ids.ts";
import type { InvocationStatus } from "../types/invocation.ts";
import { parseDeploymentPatch, resolveDeploymentPatch } from "./deployment-patch.ts";
import { InvocationOperationError } from "./invocation-errors.ts";
import { restartAsNewCommand } from "./restart-as-new.ts";
import type { AdminRoute } from "./server.ts";

type Operation = "cancel" | "kill" | "purge" | "purge-journal";

/**
 * Invocation management on the admin API, as Restate 1.7 defines it: cancel, kill, purge, purge-journal, pause,
 * resume and restart-as-new, each a log record first. Each is checked against the invocation's
 * state as this node's replica has applied it; a refused request changes nothing.
 */
export function invocationRoutes(dispatcher: InvocationDispatcher, schema: () => SchemaView): AdminRoute[] {
  const parseId = (text: string): InvocationId => {
    try {
      return parseInvocationId(decodeURIComponent(text));
    } catch (e) {
      throw new BadRequestError(`invalid invocation id: ${(e as Error).message}`, "invalid_invocation_id");
    }
  };

  const notFound = (id: InvocationId) => new InvocationOperationError("invocation_not_found", `invocation ${id} not found`);
  const statusOf = async (id: InvocationId): Promise<InvocationStatus> => {
    const status = await dispatcher.readStatus(id);
    if (!status) throw notFound(id);
    return status;
  };

  const run = async (id: InvocationId, op: Operation): Promise<number> => {
    const status = await statusOf(id);
    const completed = status.status === "completed";
    const purging = op === "purge" || op === "purge-journal";
    if (purging && !completed) {
      throw new InvocationOperationError("invocation_not_completed", `invocation ${id} is still running; only completed invocations can be purged`);
    }
    if (!purging && completed) throw new InvocationOperationError("invocation_already_completed", `invocation ${id} was already completed`);
    await dispatcher.propose(id, { t: op, id });
    // A running invocation cancels itself asynchronously; everything else is done once applied.
    return op === "cancel" && status.status !== "inboxed" && status.status !== "scheduled" ? 202 : 200;
  };

  /** 202 when the invocation is being paused, 200 when it already is. */
  const pause = async (id: InvocationId): Promise<number> => {
    const status = await statusOf(id);
    if (status.status === "paused") return 200;
    if (status.status !== "invoked" && status.status !== "suspended") {
      throw new InvocationOperationError("invocation_not_running", `The invocation '${id}' is not running, cannot be paused.`);
    }
    await dispatcher.propose(id, { t: "pause", id });
    return 202;
  };

  const resume = async (id: InvocationId, deploymentParam: string | null): Promise<void> => {
    const patch = parseDeploymentPatch(deploymentParam, { kind: "keep" });
    const status = await statusOf(id);
    switch (status.status) {
      case "inboxed":
      case "scheduled":
        throw new InvocationOperationError("invocation_not_started", `The invocation '${id}' is either inboxed or scheduled, cannot be resumed.`);
      case "completed":
        throw new InvocationOperationError("invocation_already_completed", `The invocation '${id}' is completed, cannot be resumed.`);
      case "invoked":
        // Running or backing off: it can be retried now, but not moved mid-flight.
        if (patch.kind !== "keep") {
          throw new InvocationOperationError(
            "cannot_change_deployment",
            `The invocation '${id}' is still running or the deployment id is not pinned yet, deployment id cannot be changed.`,
          );
        }
        await dispatcher.propose(id, { t: "resume", id });
        return;
      case "suspended":
      case "paused": {
        const deploymentId = resolveDeploymentPatch(patch, status, schema(), "resume");
        await dispatcher.propose(id, { t: "resume", id, ...(deploymentId !== undefined ? { deploymentId } : {}) });
        return;
      }
    }
  };

  const restartAsNew = async (id: InvocationId, params: URLSearchParams): Promise<InvocationId> => {
    const fromText = params.get("from");
    const from = fromText === null ? 0 : Number(fromText);
    if (!Number.isSafeInteger(from) || from < 0) {
      throw new InvocationOperationError("invalid_query_parameter", `The query parameter 'from' is invalid. Reason: '${fromText}' is not a journal index`);
    }
    const deployment = parseDeploymentPatch(params.get("deployment"), { kind: "latest" });
    const found = await dispatcher.readWithJournal(id);
    if (!found) throw notFound(id);
    const command = restartAsNewCommand(found.status, found.journal, { from, deployment }, schema());
    await dispatcher.propose(id, command);
    return command.newId;
  };

  const query = (url: string | undefined) => new URL(url ?? "/", "http://admin").searchParams;

  return [
    {
      method: "DELETE",
      pattern: /^\/invocations\/([^/]+)$/,
      async handle(req, res, m) {
        const mode = query(req.url).get("mode") ?? "cancel";
        if (mode !== "cancel" && mode !== "kill" && mode !== "purge") {
          throw new BadRequestError(`invalid mode '${mode}': use cancel, kill or purge`, "invalid_mode");
        }
        await run(parseId(m[1]), mode);
        res.writeHead(202).end();
      },
    },
    ...(["cancel", "kill", "purge", "purge-journal"] as const).map(
      (op): AdminRoute => ({
        method: "PATCH",
        pattern: new RegExp(`^/invocations/([^/]+)/${op}$`),
        async handle(_req, res, m) {
          const status = await run(parseId(m[1]), op);
          if (status === 202) sendJson(res, 202, {});
          else res.writeHead(200).end();
        },
      }),
    ),
    {
      method: "PATCH",
      pattern: /^\/invocations\/([^/]+)\/pause$/,
      async handle(_req, res, m) {
        res.writeHead(await pause(parseId(m[1]))).end();
      },
    },
    {
      method: "PATCH",
      pattern: /^\/invocations\/([^/]+)\/resume$/,
      async handle(req, res, m) {
        await resume(parseId(m[1]), query(req.url).get("deployment"));
        res.writeHead(200).end();
      },
    },
    {
      method: "PATCH",
      pattern: /^\/invocations\/([^/]+)\/restart-as-new$/,
      async handle(req, res, m) {
        sendJson(res, 200, { new_invocation_id: await restartAsNew(parseId(m[1]), query(req.url)) });
      },
    },
  ];
}
