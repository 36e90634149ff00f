import { setTimeout as sleep } from "node:timers/promises";
import type { ChaosCluster } from "./cluster.ts";
import { keysOverPartitions } from "./partition-keys.ts";
import { SET_SERVICE } from "./set-service.ts";

const PROBE_TIMEOUT_MS = 2_000;
const PROBE_PAUSE_MS = 50;

export interface Recovery {
  /** From the heal until the slowest (ingress, partition) pair answered; null if one never did in time. */
  readonly recoveryMs: number | null;
  /** Per live ingress: until its slowest partition answered. */
  readonly perIngress: Readonly<Record<string, number | null>>;
}

/**
 * After a heal: calls through every ingress to every partition (a read of a probe object on
 * that partition, which goes through the partition's log) until each has answered once, for at
 * most `maxWaitMs`. A partition left stuck by the fault shows as no recovery, not as a fast one.
 */
export async function measureRecovery(cluster: ChaosCluster, partitions: number, healedAt: number, maxWaitMs: number, signal: AbortSignal): Promise<Recovery> {
  const deadline = healedAt + maxWaitMs;
  const probe = async (url: string, key: string): Promise<number | null> => {
    while (Date.now() < deadline && !signal.aborted) {
      try {
        const res = await fetch(`${url}/${SET_SERVICE}/${key}/get`, { method: "POST", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        await res.arrayBuffer();
        if (res.status === 200) return Date.now() - healedAt;
      } catch {
        // Not yet.
      }
      await sleep(PROBE_PAUSE_MS);
    }
    return null;
  };
  // Every ingress, not only the live ones: after a heal each node is meant to be back (a killed one is restarting now).
  const ingresses = cluster.allIngresses();
  const perIngress: Record<string, number | null> = {};
  await Promise.all(
    ingresses.map(async ({ node, url }) => {
      const times = await Promise.all(keysOverPartitions(`probe-${node}`, partitions, partitions).map(({ key }) => probe(url, key)));
      perIngress[node] = times.some((t) => t === null) ? null : Math.max(...(times as number[]));
    }),
  );
  const times = Object.values(perIngress);
  return { recoveryMs: times.length === 0 || times.some((t) => t === null) ? null : Math.max(...(times as number[])), perIngress };
}
