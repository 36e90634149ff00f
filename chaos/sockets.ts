import { runCommand } from "./command.ts";
import type { FirewallNode } from "./firewall.ts";

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** One TCP socket as `ss -tanpe` reports it. */
export interface SocketEntry {
  readonly state: string;
  readonly local: Endpoint;
  readonly peer: Endpoint;
  /** The socket's owner uid (ss omits it for root: 0). */
  readonly uid: number;
  /** The first process holding it, if ss could tell. */
  readonly pid: number | null;
  readonly process: string | null;
}

/** Some inter-node connection or listener escapes the firewall's attribution: faults would not cut it. */
export class UnattributedConnectionError extends Error {
  override readonly name = "UnattributedConnectionError";
  constructor(readonly problems: readonly string[]) {
    super(`refusing to inject faults: ${problems.length} socket(s) the firewall cannot attribute to a node:\n  ${problems.join("\n  ")}`);
  }
}

/** Every TCP socket in this network namespace. */
export async function listSockets(): Promise<SocketEntry[]> {
  return parseSs(await runCommand("ss", ["-tanpeH"]));
}

export function parseSs(output: string): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of output.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    const [state, , , local, peer] = fields;
    const rest = fields.slice(5).join(" ");
    const owner = /pid=(\d+)/.exec(rest);
    const name = /users:\(\("([^"]*)"/.exec(rest);
    const uid = /(?:^|\s)uid:(\d+)/.exec(rest);
    out.push({
      state,
      local: parseEndpoint(local),
      peer: parseEndpoint(peer),
      uid: uid === null ? 0 : Number(uid[1]),
      pid: owner === null ? null : Number(owner[1]),
      process: name === null ? null : name[1],
    });
  }
  return out;
}

/** `127.0.0.1:80`, `[::1]:80`, `*:80`, `0.0.0.0:*`; IPv4-mapped IPv6 addresses as IPv4. */
function parseEndpoint(text: string): Endpoint {
  const colon = text.lastIndexOf(":");
  let address = text.slice(0, colon).replace(/^\[|\]$/g, "");
  if (address.startsWith("::ffff:")) address = address.slice("::ffff:".length);
  const port = text.slice(colon + 1);
  return { address, port: port === "*" ? 0 : Number(port) };
}

const CONNECTING = new Set(["ESTAB", "SYN-SENT"]);

/**
 * What the firewall relies on, checked against the sockets in the namespace:
 * - a node's process listens only on its node's own address (a wildcard or 127.0.0.1 listener
 *   could be reached by an address the cut rules do not name);
 * - every connection to a node's listener was opened by a node's uid (its connections carry that
 *   node's mark), or by one of `observerPids` (the harness's own clients, which faults never cut).
 * A connection opened by anything else, e.g. a root process whose socket left from 127.0.0.1,
 * cannot be attributed to a node: the answer lists each offending socket.
 */
export function attributionProblems(nodes: readonly FirewallNode[], sockets: readonly SocketEntry[], observerPids: readonly number[]): string[] {
  const byUid = new Map(nodes.map((n) => [n.uid, n]));
  const problems: string[] = [];
  const listeners = new Set<string>();
  for (const s of sockets) {
    if (s.state !== "LISTEN") continue;
    const node = byUid.get(s.uid);
    if (node === undefined) continue;
    if (s.local.address !== node.address) problems.push(`${owner(s)} of node ${node.name} listens on ${show(s.local)}, not on its address ${node.address}`);
    else listeners.add(show(s.local));
  }
  for (const s of sockets) {
    if (!CONNECTING.has(s.state) || !listeners.has(show(s.peer))) continue;
    if (byUid.has(s.uid)) continue;
    // Root sockets are the harness's own (node processes run as their uids). ss cannot always name
    // the process of a pooled client socket; one it does name must be one of the observers.
    if (s.uid === 0 && (s.pid === null || observerPids.includes(s.pid))) continue;
    problems.push(`${show(s.local)} -> ${show(s.peer)} (${s.state}) by ${owner(s)} uid ${s.uid}: opened by no node's uid, so no fault would cut it`);
  }
  return problems;
}

/** Throws `UnattributedConnectionError` unless every socket passes `attributionProblems`. */
export async function verifyAttribution(nodes: readonly FirewallNode[], observerPids: readonly number[]): Promise<void> {
  const problems = attributionProblems(nodes, await listSockets(), observerPids);
  if (problems.length > 0) throw new UnattributedConnectionError(problems);
}

function show(e: Endpoint): string {
  return `${e.address}:${e.port}`;
}

function owner(s: SocketEntry): string {
  return s.pid === null ? "an unknown process" : `${s.process ?? "?"} (pid ${s.pid})`;
}
