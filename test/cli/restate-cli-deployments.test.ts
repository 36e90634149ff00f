import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import { counter, greeter } from "../support/example-services.ts";

/** The npm package's launcher, which runs the native binary of this platform. */
const CLI = createRequire(import.meta.url).resolve("@restatedev/restate/lib/index.js");

interface DeploymentsBody {
  deployments: { id: string; uri: string; services: { name: string; revision: number }[] }[];
}

describe("the real restate CLI registers, lists, describes and removes deployments", () => {
  let fixture: Fixture;
  let second: SdkEndpoint;
  let admin: string;

  /** Runs `restate <args>` with a throwaway config home; resolves with the exit code and output. */
  const cli = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: join(fixture.dir, "home"),
        RESTATE_CLI_CONFIG_HOME: join(fixture.dir, "restate-cli"),
        RESTATE_ADMIN_URL: admin,
        NO_COLOR: "1",
        TERM: "dumb",
      };
      execFile(process.execPath, [CLI, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
      });
    });
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `restate ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  };
  const deployments = async () => ((await (await fetch(`${admin}/deployments`)).json()) as DeploymentsBody).deployments;

  before(async () => {
    fixture = await startFixture({ services: [greeter, counter] });
    admin = fixture.admin;
    second = await startSdkEndpoint([greeter, counter]);
  });

  after(async () => {
    await second?.close();
    await fixture.stop();
  });

  it("registers a new URL (dry run, then for real), and answers a known one without --force as unchanged", async () => {
    const first = (await deployments())[0];
    const { stdout } = await ok("--yes", "deployments", "register", second.url);
    assert.match(stdout, /Deployment ID:\s+dp_/);
    const now = await deployments();
    assert.equal(now.length, 2, "the dry run registered nothing of its own");
    const added = now.find((d) => d.uri === second.url)!;
    assert.ok(stdout.includes(added.id), stdout);
    assert.deepEqual(added.services.map((s) => [s.name, s.revision]).sort(), [["Counter", 2], ["Greeter", 2]]);

    const again = await ok("--yes", "deployments", "register", second.url);
    assert.match(again.stdout, /already exists/);
    assert.ok(again.stdout.includes(added.id));
    assert.equal((await deployments()).length, 2);
    assert.ok((await deployments()).some((d) => d.id === first.id));
  });

  it("re-registers a known URL with --force under the same id, with new revisions", async () => {
    const before = (await deployments()).find((d) => d.uri === second.url)!;
    const { stdout } = await ok("--yes", "deployments", "register", "--force", second.url);
    assert.ok(stdout.includes(before.id), stdout);
    const after = (await deployments()).find((d) => d.uri === second.url)!;
    assert.equal(after.id, before.id);
    assert.deepEqual(after.services.map((s) => [s.name, s.revision]).sort(), [["Counter", 3], ["Greeter", 3]]);
    assert.equal((await callJson(fixture.ingress, "/Greeter/greet", "Ada")).status, 200);
  });

  it("lists and describes deployments", async () => {
    const all = await deployments();
    const { stdout } = await ok("deployments", "list");
    for (const d of all) assert.ok(stdout.includes(d.id), `${d.id} in\n${stdout}`);
    const newest = all.find((d) => d.uri === second.url)!;
    const described = await ok("deployments", "describe", newest.id);
    assert.ok(described.stdout.includes(newest.id), described.stdout);
    assert.match(described.stdout, /Greeter/);
    assert.match(described.stdout, /Counter/);
  });

  it("removes a drained deployment, and refuses the active one without --force", async () => {
    const all = await deployments();
    const drained = all.find((d) => d.uri !== second.url)!;
    const active = all.find((d) => d.uri === second.url)!;
    const refused = await cli("--yes", "deployments", "remove", active.id);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /Active|--force/);
    assert.equal((await deployments()).length, 2);

    const { stdout } = await ok("--yes", "deployments", "remove", drained.id);
    assert.match(stdout, /removed successfully/);
    assert.deepEqual((await deployments()).map((d) => d.id), [active.id]);
    assert.equal((await callJson(fixture.ingress, "/Greeter/greet", "Grace")).status, 200);
  });
});
