import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_CONFIG, loadConfig } from "../../src/cluster/config.ts";
import { BadRequestError } from "../../src/types/errors.ts";
import { tempDir } from "../support/temp.ts";

describe("configuration", () => {
  it("defaults to a complete single node on the usual ports", () => {
    const c = loadConfig();
    assert.equal(c.baseDir, "./reprise-data");
    assert.equal(c.ingress.port, 8080);
    assert.equal(c.admin.port, 9070);
    assert.deepEqual(c, DEFAULT_CONFIG);
  });

  it("layers file, environment and flags, in that order", () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, "reprise.toml");
      writeFileSync(file, 'partitions = 8\nbase_dir = "/from-file"\n[ingress]\nport = 1111\n[invoker.retry]\nmax_attempts = 5\n');
      const c = loadConfig({
        file,
        env: { REPRISE_INGRESS__PORT: "2222", REPRISE_ADMIN__PORT: "3333", UNRELATED: "x" },
        overrides: { admin: { port: 4444 } },
      });
      assert.equal(c.partitions, 8);
      assert.equal(c.baseDir, "/from-file");
      assert.equal(c.ingress.port, 2222);
      assert.equal(c.admin.port, 4444);
      assert.equal(c.invoker.retry.maxAttempts, 5);
    } finally {
      dir.remove();
    }
  });

  it("names the offending key and source on bad input", () => {
    assert.throws(() => loadConfig({ env: { REPRISE_INGRESS__PROT: "1" } }), (e: unknown) => e instanceof BadRequestError && /ingress\.prot.*REPRISE_INGRESS__PROT/.test(e.message));
    assert.throws(() => loadConfig({ env: { REPRISE_PARTITIONS: "many" } }), /partitions.*must be a number/);
    assert.throws(() => loadConfig({ overrides: { ingress: { port: 70000 } } }), /ingress.port must be a port number/);
    assert.throws(() => loadConfig({ file: "/nonexistent/reprise.toml" }), /cannot read config file '\/nonexistent\/reprise.toml'/);
  });
});
