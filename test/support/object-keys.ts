import { PartitionRouter, partitionKeyForKey } from "../../src/partition/routing.ts";

/** A `service` object key `<prefix>-<n>` that lives in `partition` of `router`. */
export function objectKeyIn(router: PartitionRouter, service: string, partition: number, prefix: string): string {
  for (let i = 0; ; i++) if (router.partitionOfKey(partitionKeyForKey(service, `${prefix}-${i}`)) === partition) return `${prefix}-${i}`;
}
