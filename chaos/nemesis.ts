import { setTimeout as sleep } from "node:timers/promises";
import type { PartitionPlacement } from "../src/metadata/documents.ts";
import type { ChaosCluster } from "./cluster.ts";
import type { Firewall } from "./firewall.ts";
import { hold } from "./hold.ts";
import type { NodeSpec } from "./topology.ts";

export const NEMESES = ["isolate-node", "isolate-leader", "majority-minority", "kill", "pause", "partition-burst"] as const;
export type NemesisName = (typeof NEMESES)[number];

/** The burst: this many partitions of one random node, each held this long, this far apart. */
const BURST_COUNT = 10;
const BURST_HOLD_MS = 2_000;
const BURST_GAP_MS = 1_000;
/** How long isolate-leader asks the partition table for a leader before it gives up, and how often. */
const TABLE_WAIT_MS = 10_000;
const TABLE_POLL_MS = 200;

export interface FaultContext {
  readonly cluster: ChaosCluster;
  readonly firewall: Firewall;
  /** Uniform in [0, 1), seeded: a run can be repeated. */
  readonly random: () => number;
  /** How long a fault is held before it is healed. */
  readonly holdMs: number;
  /** Cuts a hold short (SIGINT); the fault is still healed. */
  readonly signal: AbortSignal;
  /** Throws unless the firewall can attribute every connection; run before every injection. */
  readonly verify: () => Promise<void>;
  /** Called the moment the heal is done (for kill: once the restarted process is ready), so recovery is measured from then. */
  readonly healing: (at: number) => void;
}

/** One fault, injected and healed. */
export interface FaultRecord {
  readonly nemesis: NemesisName;
  readonly description: string;
  readonly injectedAt: number;
  /** When the heal was issued (for kill: when the restarted process reported ready). */
  readonly healedAt: number;
  /** Packets the firewall dropped while the fault held (network faults only). */
  readonly droppedPackets?: number;
}

/** Injects the named fault, holds it, and heals it, also when the hold or the injection fails. */
export function runNemesis(name: NemesisName, ctx: FaultContext): Promise<FaultRecord> {
  switch (name) {
    case "isolate-node":
      return isolateNode(ctx);
    case "isolate-leader":
      return isolateLeader(ctx);
    case "majority-minority":
      return majorityMinority(ctx);
    case "kill":
      return killAndRestart(ctx);
    case "pause":
      return pause(ctx);
    case "partition-burst":
      return burst(ctx);
  }
}

/** How long a nemesis holds its fault(s), heal to heal: a round starts one only if it ends in time. */
export function faultDurationMs(name: NemesisName, holdMs: number): number {
  return name === "partition-burst" ? BURST_COUNT * BURST_HOLD_MS + (BURST_COUNT - 1) * BURST_GAP_MS : holdMs;
}

export function parseNemeses(list: string): NemesisName[] {
  const names = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const n of names) if (!(NEMESES as readonly string[]).includes(n)) throw new Error(`unknown nemesis '${n}'; nemeses are ${NEMESES.join(", ")}`);
  if (names.length === 0) throw new Error(`no nemesis given; nemeses are ${NEMESES.join(", ")}`);
  return names as NemesisName[];
}

/** A node that leads no partition (any node if every one leads some). */
async function isolateNode(ctx: FaultContext): Promise<FaultRecord> {
  const leaders = await leaderNames(ctx.cluster);
  const followers = ctx.cluster.nodes.filter((n) => !leaders.has(n.name));
  const victim = pick(followers.length > 0 ? followers : ctx.cluster.nodes, ctx.random);
  return isolate(ctx, "isolate-node", victim, `${victim.name} cut off from the others`);
}

/** The node leading a random partition, as the partition table says. */
async function isolateLeader(ctx: FaultContext): Promise<FaultRecord> {
  const led = await ledPartitions(ctx.cluster);
  if (led.length === 0) throw new Error(`isolate-leader: the partition table named no leader for ${TABLE_WAIT_MS} ms`);
  const partition = pick(led, ctx.random);
  const victim = ctx.cluster.nodeById(partition.leader!);
  if (victim === undefined) throw new Error(`isolate-leader: partition ${partition.partitionId}'s leader N${partition.leader} is no node of this cluster`);
  return isolate(ctx, "isolate-leader", victim, `${victim.name} (leader of partition ${partition.partitionId}) cut off from the others`);
}

function isolate(ctx: FaultContext, nemesis: NemesisName, victim: NodeSpec, description: string): Promise<FaultRecord> {
  const others = ctx.cluster.nodes.filter((n) => n !== victim);
  return partitioned(ctx, nemesis, [[victim], others], description, ctx.holdMs);
}

/** A random minority (fewer than half the nodes, at least one) against the majority. */
function majorityMinority(ctx: FaultContext): Promise<FaultRecord> {
  const shuffled = shuffle(ctx.cluster.nodes, ctx.random);
  const minority = shuffled.slice(0, Math.max(1, Math.floor((shuffled.length - 1) / 2)));
  const majority = shuffled.slice(minority.length);
  const names = (side: readonly NodeSpec[]): string => side.map((n) => n.name).join("+");
  return partitioned(ctx, "majority-minority", [minority, majority], `minority ${names(minority)} | majority ${names(majority)}`, ctx.holdMs);
}

async function partitioned(ctx: FaultContext, nemesis: NemesisName, sides: NodeSpec[][], description: string, holdMs: number): Promise<FaultRecord> {
  await ctx.verify();
  const injectedAt = Date.now();
  let droppedPackets = 0;
  try {
    await ctx.firewall.partition(sides);
    await hold(holdMs, ctx.signal);
    droppedPackets = await ctx.firewall.droppedPackets();
  } finally {
    await ctx.firewall.heal();
  }
  const healedAt = Date.now();
  ctx.healing(healedAt);
  return { nemesis, description, injectedAt, healedAt, droppedPackets };
}

/** kill -9 of a random node's Reprise process; restarted (next generation) after the hold. */
async function killAndRestart(ctx: FaultContext): Promise<FaultRecord> {
  const victim = pick(ctx.cluster.nodes, ctx.random);
  await ctx.verify();
  const injectedAt = Date.now();
  await ctx.cluster.killReprise(victim.name);
  await hold(ctx.holdMs, ctx.signal);
  // The node is back once its restarted process reports ready (the next generation joined and
  // its roles run); recovery counts from then. The process's own start-up time is reported apart.
  const restartedAt = Date.now();
  await ctx.cluster.restartReprise(victim.name);
  const healedAt = Date.now();
  ctx.healing(healedAt);
  return {
    nemesis: "kill",
    description: `kill -9 ${victim.name}, restarted after the hold (ready ${healedAt - restartedAt} ms later)`,
    injectedAt,
    healedAt,
  };
}

/** SIGSTOP of a random node's Reprise process, SIGCONT after the hold. */
async function pause(ctx: FaultContext): Promise<FaultRecord> {
  const victim = pick(ctx.cluster.nodes, ctx.random);
  await ctx.verify();
  const injectedAt = Date.now();
  ctx.cluster.pauseReprise(victim.name);
  await hold(ctx.holdMs, ctx.signal);
  ctx.cluster.resumeReprise(victim.name);
  const healedAt = Date.now();
  ctx.healing(healedAt);
  return { nemesis: "pause", description: `SIGSTOP ${victim.name}, SIGCONT after the hold`, injectedAt, healedAt };
}

/** Ten 2-second partitions of a random node each, a second apart; recovery counts from the last heal. */
async function burst(ctx: FaultContext): Promise<FaultRecord> {
  const injectedAt = Date.now();
  const victims: string[] = [];
  let droppedPackets = 0;
  for (let i = 0; i < BURST_COUNT && !ctx.signal.aborted; i++) {
    const victim = pick(ctx.cluster.nodes, ctx.random);
    victims.push(victim.name);
    const others = ctx.cluster.nodes.filter((n) => n !== victim);
    // Recovery counts from the last heal only.
    const one = await partitioned({ ...ctx, healing: () => {} }, "partition-burst", [[victim], others], "", BURST_HOLD_MS);
    droppedPackets += one.droppedPackets ?? 0;
    if (i < BURST_COUNT - 1) await hold(BURST_GAP_MS, ctx.signal);
  }
  const healedAt = Date.now();
  ctx.healing(healedAt);
  return {
    nemesis: "partition-burst",
    description: `${victims.length} x ${BURST_HOLD_MS / 1000} s partitions of ${victims.join(",")}`,
    injectedAt,
    healedAt,
    droppedPackets,
  };
}

/**
 * The partitions the table names a leader for, asked again for a while if none: right after a heal
 * every etcd member may refuse reads for a few seconds while they elect a leader.
 */
async function ledPartitions(cluster: ChaosCluster): Promise<PartitionPlacement[]> {
  const deadline = Date.now() + TABLE_WAIT_MS;
  for (;;) {
    const led = ((await cluster.partitionTable())?.partitions ?? []).filter((p) => p.leader !== undefined);
    if (led.length > 0 || Date.now() >= deadline) return led;
    await sleep(TABLE_POLL_MS);
  }
}

/** The names of the nodes that lead a partition now. */
async function leaderNames(cluster: ChaosCluster): Promise<Set<string>> {
  const table = await cluster.partitionTable();
  const names = new Set<string>();
  for (const p of table?.partitions ?? []) {
    const node = p.leader === undefined ? undefined : cluster.nodeById(p.leader);
    if (node !== undefined) names.add(node.name);
  }
  return names;
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)];
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
