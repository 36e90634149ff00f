import type { CommandHandler } from "../context.ts";

/**
 * A node claims leadership with an epoch above any it saw; records proposed under lower epochs are
 * ignored from here on. Every replica reports it, so the old leader learns it was deposed.
 */
export const announceLeader: CommandHandler<"announce-leader"> = (ctx, c) => {
  // An announcement that arrives after a higher one lost the race for leadership: it changes nothing.
  if (c.epoch <= ctx.tx.leaderEpoch()) return;
  ctx.tx.setLeaderEpoch(c.epoch);
  ctx.emit({ t: "leader", epoch: c.epoch, nodeId: c.nodeId });
};
