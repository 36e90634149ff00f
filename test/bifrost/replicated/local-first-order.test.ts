import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NodeConnections } from "../../../src/net/connections.ts";
import { LogServers, localFirstOrder, spreadOrder } from "../../../src/bifrost/replicated/log-servers.ts";
import { PlainNodeId } from "../../../src/types/ids.ts";

const ids = (...n: number[]) => n.map(PlainNodeId);
const serversOf = (me: number) => new LogServers(new NodeConnections(() => "127.0.0.1:1"), { id: PlainNodeId(me), generation: 1 });

describe("local-first order (sequencer stores, reader asks)", () => {
  it("asks this node's own log server first, then the spread order", () => {
    const servers = serversOf(2);
    for (let seed = 0; seed < 3; seed++) {
      const order = localFirstOrder(ids(1, 2, 3), seed, servers);
      assert.equal(order[0], 2);
      assert.deepEqual(order.slice(1), spreadOrder(ids(1, 2, 3), seed, servers).filter((n) => n !== 2));
    }
  });

  it("is the spread order when this node is not in the nodeset or its server recently failed", () => {
    assert.deepEqual(localFirstOrder(ids(1, 2, 3), 1, serversOf(4)), spreadOrder(ids(1, 2, 3), 1, serversOf(4)));
    const servers = serversOf(2);
    servers.markFailed(PlainNodeId(2));
    assert.deepEqual(localFirstOrder(ids(1, 2, 3), 1, servers), ids(3, 1, 2));
  });
});
