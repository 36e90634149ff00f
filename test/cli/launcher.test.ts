import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { spawnChild } from "../support/process.ts";
import { REPRISE, REPRISE_NODE_FLAGS, startRepriseServer } from "../support/reprise-server.ts";
import { tempDir } from "../support/temp.ts";

/** The arguments of a running process's command line: its `node` flags come before the script. */
function nodeFlagsOf(pid: number): string[] {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  const script = argv.findIndex((a) => a.endsWith("bin/reprise.js"));
  assert.ok(script > 0, `no bin/reprise.js in ${argv.join(" ")}`);
  return argv.slice(1, script).filter((a) => a.startsWith("--") && !a.startsWith("--import") && !a.startsWith("--require"));
}

describe("the reprise launcher", () => {
  it("runs as an executable with its shebang's node flags, and the servers tests start get the same flags", async () => {
    const dir = tempDir();
    const ports = ["--ingress-port", "0", "--admin-port", "0", "--node-port", "0", "--bind-address", "127.0.0.1"];
    // Executed directly, as an installed `reprise` is: env -S splits the shebang's flags for node.
    const direct = spawnChild(REPRISE, ["server", "--base-dir", `${dir.path}/direct`, ...ports]);
    try {
      await direct.waitFor((e) => e.event === "ready", 30_000);
      const flags = nodeFlagsOf(direct.pid);
      assert.ok(flags.some((f) => f.startsWith("--max-semi-space-size=")), `flags ${flags.join(" ")}`);
      assert.deepEqual(flags, [...REPRISE_NODE_FLAGS]);
      const viaSupport = await startRepriseServer(["--base-dir", `${dir.path}/support`, ...ports]);
      try {
        assert.deepEqual(nodeFlagsOf(viaSupport.pid), flags);
      } finally {
        await viaSupport.stop();
      }
    } finally {
      await direct.stop();
      dir.remove();
    }
  });
});
