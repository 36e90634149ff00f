/**
 * The one line a Reprise process prints on stdout once it serves: a JSON object
 * `{"event":"ready", ...}` naming what it bound, so tests, benchmarks and scripts learn the ports
 * (usually picked with port 0) without guessing. pino log lines share stdout; they never carry an
 * `event` field, so a reader picks this line out by `event === "ready"`.
 */
export interface ReadyEvent {
  readonly event: "ready";
  /** Client API port: a single node, or a cluster node with the worker role. */
  readonly ingress?: number;
  readonly admin?: number;
  /** `N<id>:<generation>` of a cluster node or log server. */
  readonly node?: string;
  /** The node port: restatectl's API, and the log-server role in a cluster. */
  readonly nodePort?: number;
  readonly roles?: readonly string[];
}

export function printReadyEvent(fields: Omit<ReadyEvent, "event">): void {
  const event: ReadyEvent = { event: "ready", ...fields };
  process.stdout.write(`${JSON.stringify(event)}\n`);
}
