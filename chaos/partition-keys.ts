import { PartitionRouter, partitionKeyForKey } from "../src/partition/routing.ts";
import { SET_SERVICE } from "./set-service.ts";

/**
 * `count` object keys `<prefix>-<n>` spread evenly over the partitions (key i is on partition
 * i mod partitions), so the workload and the recovery probes reach every partition.
 */
export function keysOverPartitions(prefix: string, count: number, partitions: number): { key: string; partition: number }[] {
  const router = new PartitionRouter(partitions);
  const pools: string[][] = Array.from({ length: partitions }, () => []);
  const out: { key: string; partition: number }[] = [];
  // The hash spreads keys evenly; this many candidates is far more than any partition's share needs.
  const limit = 64 * count * partitions;
  for (let n = 0; out.length < count; n++) {
    if (n >= limit) throw new Error(`no ${count} keys spread over ${partitions} partitions among ${limit} candidates`);
    const key = `${prefix}-${n}`;
    pools[router.partitionOfKey(partitionKeyForKey(SET_SERVICE, key))].push(key);
    const want = out.length % partitions;
    const next = pools[want].shift();
    if (next !== undefined) out.push({ key: next, partition: want });
  }
  return out;
}
