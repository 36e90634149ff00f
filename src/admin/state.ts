import type { InvocationDispatcher } from "../partition/dispatcher.ts";
import type { StateEntry } from "../partition/records.ts";
import { partitionKeyForKey } from "../partition/routing.ts";
import type { SchemaView } from "../schema/schema.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../types/errors.ts";
import { newInvocationId, type InvocationId } from "../types/ids.ts";
import { parseJsonObject, type AdminRoute } from "./server.ts";

export interface StateRouteOptions {
  readonly schema: () => SchemaView;
  readonly dispatcher: InvocationDispatcher;
  /**
   * The invocation holding an object or workflow key, as this node's replica of its partition has
   * it: null when the key is free, undefined when this node has no replica (then the partition
   * alone decides).
   */
  readonly keyHolder: (service: string, key: string) => InvocationId | null | undefined;
}

/** The dispatcher routes by an id's partition key; a state edit has no invocation, so an id on the key's partition stands in. */
const NO_RANDOM = new Uint8Array(16);

/**
 * `POST /services/{name}/state` as in Restate's admin API (`restate kv edit` / `kv clear`):
 * `{ "object_key", "new_state": { key: [bytes] }, "version"? }` replaces the key's whole state,
 * 202 once the command is in the log. Unlike Restate, which queues the edit behind a running
 * invocation, Reprise answers 409 while an invocation holds the key.
 */
export function stateRoutes(o: StateRouteOptions): AdminRoute[] {
  return [
    {
      method: "POST",
      pattern: /^\/services\/([^/]+)\/state$/,
      async handle(_req, res, m, body) {
        const service = decodeURIComponent(m[1]);
        const s = o.schema().service(service);
        if (!s) throw new NotFoundError(`service '${service}' not found`, "service_not_found");
        if (s.ty === "SERVICE") throw new BadRequestError(`cannot modify state for service '${service}': a stateless service has no state`, "service_has_no_state");
        const req = parseJsonObject(body);
        const key = req.object_key;
        if (typeof key !== "string") throw new BadRequestError("'object_key' must be the key whose state to replace, a string", "invalid_object_key");
        if (req.version !== undefined && req.version !== null && typeof req.version !== "string") {
          throw new BadRequestError("'version' must be a string, the version of the state the edit was made for", "invalid_version");
        }
        const state = parseNewState(req.new_state);
        const holder = o.keyHolder(service, key);
        if (holder) {
          throw new ConflictError(`invocation ${holder} holds ${service}/${key}; edit its state once it ends, or cancel it first`, "key_locked");
        }
        const routing = newInvocationId(partitionKeyForKey(service, key), NO_RANDOM);
        await o.dispatcher.propose(routing, { t: "patch-state", service, key, state, ...(typeof req.version === "string" ? { version: req.version } : {}) });
        // Restate answers the edit with an empty 202.
        res.writeHead(202).end();
      },
    },
  ];
}

/** `new_state`: an object of state keys to byte arrays (Restate's JSON for `Bytes`). */
function parseNewState(v: unknown): StateEntry[] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new BadRequestError("'new_state' must be an object of state keys to values as byte arrays, e.g. {\"count\": [52, 50]}", "invalid_new_state");
  }
  return Object.entries(v).map(([key, value]) => {
    if (!Array.isArray(value) || !value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      throw new BadRequestError(`'new_state.${key}' must be an array of bytes (integers 0..255)`, "invalid_new_state");
    }
    return { key, value: Uint8Array.from(value as number[]) };
  });
}
