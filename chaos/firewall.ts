import { runCommand } from "./command.ts";
import { assertPrivateNetwork } from "./namespace.ts";
import type { NodeSpec } from "./topology.ts";

const TABLE = "reprise_chaos";

export type FirewallNode = Pick<NodeSpec, "name" | "index" | "address" | "uid">;

/**
 * Network faults with nftables, inside the harness's private network namespace only.
 *
 * Inside the namespace every packet crosses `lo`, and a connection that does not bind its local
 * address leaves from 127.0.0.1 whichever node opened it, so a rule on source addresses cuts
 * nothing. Instead each node runs as its own uid: a `tag` chain marks every new connection with the
 * index of the node whose uid opened it (conntrack mark), and a `cut` rule drops every packet, in
 * both directions, of a connection whose opener (the mark) and whose destination (the original
 * destination address, a node's own address) are on different sides. Conntrack carries both to
 * the reply packets, so an established connection goes silent both ways, not only the opener's
 * half. Traffic of other uids (the harness's clients, the SDK endpoint) is never marked or cut.
 */
export class Firewall {
  private constructor(private readonly nodes: readonly FirewallNode[]) {}

  /** Installs the tagging before any node starts: connections opened before it carry no mark and could not be cut. */
  static async install(nodes: readonly FirewallNode[]): Promise<Firewall> {
    await assertPrivateNetwork();
    const tags = nodes.map((n) => `    ct state new meta skuid ${n.uid} ct mark set ${n.index}`);
    await nft(
      [
        // Idempotent: a table left by an earlier install is replaced, not extended.
        `add table inet ${TABLE}`,
        `delete table inet ${TABLE}`,
        `table inet ${TABLE} {`,
        "  chain tag {",
        "    type filter hook output priority mangle; policy accept;",
        ...tags,
        "  }",
        "  chain cut {",
        "    type filter hook output priority filter; policy accept;",
        "  }",
        "}",
      ].join("\n"),
    );
    const firewall = new Firewall(nodes);
    await firewall.heal();
    return firewall;
  }

  /**
   * Splits the nodes into `sides` that cannot reach each other (silent drops, both directions);
   * nodes on one side still reach each other. Replaces any cut in force, atomically.
   */
  async partition(sides: readonly (readonly FirewallNode[])[]): Promise<void> {
    const known = new Set(this.nodes.map((n) => n.index));
    for (const node of sides.flat()) if (!known.has(node.index)) throw new Error(`node ${node.name} is not behind this firewall`);
    const rules: string[] = [];
    for (const from of sides) {
      for (const to of sides) {
        if (from === to || from.length === 0 || to.length === 0) continue;
        const marks = from.map((n) => n.index).join(", ");
        const addresses = to.map((n) => n.address).join(", ");
        rules.push(`add rule inet ${TABLE} cut ct mark { ${marks} } ct original ip daddr { ${addresses} } counter drop`);
      }
    }
    await nft([`flush chain inet ${TABLE} cut`, ...rules].join("\n"));
  }

  /** Packets dropped by the cut in force. */
  async droppedPackets(): Promise<number> {
    const listing = JSON.parse(await runCommand("nft", ["-j", "list", "chain", "inet", TABLE, "cut"])) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] };
    let packets = 0;
    for (const item of listing.nftables) for (const expr of item.rule?.expr ?? []) packets += expr.counter?.packets ?? 0;
    return packets;
  }

  /** Lifts every cut. */
  async heal(): Promise<void> {
    await nft(`flush chain inet ${TABLE} cut`);
  }

  async remove(): Promise<void> {
    await nft(`delete table inet ${TABLE}`);
  }
}

function nft(script: string): Promise<string> {
  return runCommand("nft", ["-f", "-"], { input: `${script}\n` });
}
