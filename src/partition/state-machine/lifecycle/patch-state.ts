import { stateVersion } from "../../state-version.ts";
import type { CommandHandler } from "../context.ts";

/**
 * An operator replaces the whole state of an object or workflow key (`POST /services/{name}/state`).
 * With `version`, only if the state is still the one that version names (else dropped, as Restate
 * drops it). The admin API refuses while an invocation holds the key; one that took the key after
 * that check keeps it, and the edit is dropped, logged, rather than change state under a running handler.
 */
export const patchState: CommandHandler<"patch-state"> = (ctx, c) => {
  const holder = ctx.tx.getKeyLock(c.service, c.key);
  if (holder !== null) {
    ctx.log.warn({ service: c.service, key: c.key, holder }, "state edit dropped: an invocation took the key after the admin API checked it");
    return;
  }
  if (c.version !== undefined) {
    const current = [...ctx.tx.getState(c.service, c.key)].map(([key, value]) => ({ key, value }));
    const actual = stateVersion(current);
    if (actual !== c.version) {
      ctx.log.warn({ service: c.service, key: c.key, expected: c.version, actual }, "state edit dropped: the state changed since the version it was made for");
      return;
    }
  }
  ctx.tx.clearAllState(c.service, c.key);
  for (const entry of c.state) ctx.tx.setStateValue(c.service, c.key, entry.key, entry.value);
};
