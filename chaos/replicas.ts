import { setTimeout as sleep } from "node:timers/promises";
import type { ChaosCluster } from "./cluster.ts";

const POLL_MS = 500;
/** Invocations per status, and journal entries: two replicas that applied different records disagree. */
const DIGEST_QUERIES = [
  "SELECT status, count(*) AS n FROM sys_invocation_status GROUP BY status ORDER BY status",
  "SELECT count(*) AS n FROM sys_journal",
];

export interface ReplicaAgreement {
  readonly agreed: boolean;
  /** Per node, the digest it answered last (or the error), for the report when they disagree. */
  readonly digests: Readonly<Record<string, string>>;
}

/**
 * After the workload stopped: every node answers SQL from its own replicas of every partition, so
 * once they caught up with the logs, all must answer the same digest of the invocation statuses.
 * Replicas that applied different records never agree, however long they are given.
 */
export async function checkReplicasAgree(cluster: ChaosCluster, waitMs: number, signal: AbortSignal): Promise<ReplicaAgreement> {
  const deadline = Date.now() + waitMs;
  let digests: Record<string, string> = {};
  while (!signal.aborted) {
    digests = {};
    await Promise.all(
      cluster.allAdmins().map(async ({ node, url }) => {
        try {
          const answers: string[] = [];
          for (const query of DIGEST_QUERIES) {
            const res = await fetch(`${url}/query`, {
              method: "POST",
              headers: { "content-type": "application/json", accept: "application/json" },
              body: JSON.stringify({ query }),
              signal: AbortSignal.timeout(5_000),
            });
            answers.push(res.status === 200 ? JSON.stringify(await res.json()) : `HTTP ${res.status}: ${await res.text()}`);
          }
          digests[node] = answers.join(" ");
        } catch (e) {
          digests[node] = `error: ${(e as Error).message}`;
        }
      }),
    );
    const values = Object.values(digests);
    const failed = (d: string) => d.startsWith("error") || d.includes("HTTP ");
    if (values.length > 0 && values.every((d) => d === values[0] && !failed(d))) return { agreed: true, digests };
    if (Date.now() >= deadline) break;
    await sleep(POLL_MS);
  }
  return { agreed: false, digests };
}
