import type { PlainNodeId } from "../types/ids.ts";

export type NodeHealthState = "alive" | "suspect" | "dead";

export interface NodeHealth {
  readonly node: PlainNodeId;
  readonly state: NodeHealthState;
  /** When the node entered `state` (ms since the epoch, this process's clock). */
  readonly since: number;
  /** Last answer to a heartbeat, or null if it never answered this process. */
  readonly lastSeen: number | null;
}

export interface FailureDetectorTimeouts {
  /** Silence after which a node is suspect: it may be slow, and nothing acts on it yet. */
  readonly suspectAfterMs: number;
  /** Silence after which a node is dead: the controller may move its leaderships. */
  readonly deadAfterMs: number;
}

export const DEFAULT_FAILURE_TIMEOUTS: FailureDetectorTimeouts = { suspectAfterMs: 1_500, deadAfterMs: 3_000 };

/**
 * Node liveness from heartbeat answers, judged by silence: a node is alive while it answered
 * within `suspectAfterMs`, suspect until `deadAfterMs`, then dead. A node never heard from counts
 * from when it was first tracked, so a peer that is down when this process starts is dead after
 * `deadAfterMs` too. Time is passed in, never read, so the rules are testable without waiting.
 */
export class FailureDetector {
  private readonly peers = new Map<PlainNodeId, { trackedAt: number; lastSeen: number | null; state: NodeHealthState; since: number }>();

  constructor(private readonly timeouts: FailureDetectorTimeouts = DEFAULT_FAILURE_TIMEOUTS) {}

  /** Starts or stops watching nodes so the tracked set equals `nodes`. */
  track(nodes: Iterable<PlainNodeId>, now: number): void {
    const wanted = new Set(nodes);
    for (const node of this.peers.keys()) if (!wanted.has(node)) this.peers.delete(node);
    for (const node of wanted) {
      if (!this.peers.has(node)) this.peers.set(node, { trackedAt: now, lastSeen: null, state: "suspect", since: now });
    }
  }

  heard(node: PlainNodeId, now: number): void {
    const peer = this.peers.get(node);
    if (peer === undefined) return;
    peer.lastSeen = Math.max(peer.lastSeen ?? 0, now);
    this.update(peer, now);
  }

  health(now: number): NodeHealth[] {
    return [...this.peers].map(([node, peer]) => {
      this.update(peer, now);
      return { node, state: peer.state, since: peer.since, lastSeen: peer.lastSeen };
    });
  }

  /** Whether `node` ever answered this process: a node not heard from yet is not known to be up. */
  hasAnswered(node: PlainNodeId): boolean {
    return (this.peers.get(node)?.lastSeen ?? null) !== null;
  }

  stateOf(node: PlainNodeId, now: number): NodeHealthState | null {
    const peer = this.peers.get(node);
    if (peer === undefined) return null;
    this.update(peer, now);
    return peer.state;
  }

  private update(peer: { trackedAt: number; lastSeen: number | null; state: NodeHealthState; since: number }, now: number): void {
    const silentFor = now - (peer.lastSeen ?? peer.trackedAt);
    const state: NodeHealthState =
      peer.lastSeen !== null && silentFor < this.timeouts.suspectAfterMs ? "alive" : silentFor < this.timeouts.deadAfterMs ? "suspect" : "dead";
    if (state !== peer.state) {
      peer.state = state;
      peer.since = now;
    }
  }
}
