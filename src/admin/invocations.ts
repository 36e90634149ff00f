import type { InvocationDispatcher } from "../partition/dispatcher.ts";
import { sendJson } from "../common/http-util.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../types/errors.ts";
import { parseInvocationId, type InvocationId } from "../types/ids.ts";
import type { AdminRoute } from "./server.ts";

type Operation = "cancel" | "kill" | "purge";

/** Invocation management on the admin API: cancel, kill, purge — each a log record first. */
export function invocationRoutes(dispatcher: InvocationDispatcher): AdminRoute[] {
  const parseId = (text: string): InvocationId => {
    try {
      return parseInvocationId(decodeURIComponent(text));
    } catch (e) {
      throw new BadRequestError(`invalid invocation id: ${(e as Error).message}`, "invalid_invocation_id");
    }
  };

  const run = async (id: InvocationId, op: Operation): Promise<number> => {
    const status = dispatcher.status(id);
    if (!status) throw new NotFoundError(`invocation ${id} not found`, "invocation_not_found");
    const completed = status.status === "completed";
    if (op === "purge" && !completed) {
      throw new ConflictError(`invocation ${id} is still running; only completed invocations can be purged`, "invocation_not_completed");
    }
    if (op !== "purge" && completed) throw new ConflictError(`invocation ${id} was already completed`, "invocation_already_completed");
    await dispatcher.propose(id, { t: op, id });
    // A running invocation cancels itself asynchronously; everything else is done once applied.
    return op === "cancel" && status.status !== "inboxed" && status.status !== "scheduled" ? 202 : 200;
  };

  return [
    {
      method: "DELETE",
      pattern: /^\/invocations\/([^/]+)$/,
      async handle(req, res, m) {
        const mode = new URL(req.url ?? "/", "http://admin").searchParams.get("mode") ?? "cancel";
        if (mode !== "cancel" && mode !== "kill" && mode !== "purge") {
          throw new BadRequestError(`invalid mode '${mode}': use cancel, kill or purge`, "invalid_mode");
        }
        await run(parseId(m[1]), mode);
        res.writeHead(202).end();
      },
    },
    ...(["cancel", "kill", "purge"] as const).map(
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
  ];
}
