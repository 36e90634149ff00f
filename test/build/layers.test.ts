import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { tempDir } from "../support/temp.ts";

const REPO = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

/** Runs the repository's layering check (dependency-cruiser with .dependency-cruiser.cjs) in `cwd`. */
async function checkLayers(cwd: string): Promise<{ ok: boolean; output: string }> {
  const bin = join(REPO, "node_modules/.bin/depcruise");
  try {
    const { stdout } = await run(bin, ["src", "--config", join(REPO, ".dependency-cruiser.cjs")], { cwd });
    return { ok: true, output: stdout };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

/** A throwaway tree with the given files, shaped like this repository. */
function fixture(files: Record<string, string>): { path: string; remove: () => void } {
  const dir = tempDir("reprise-layers-");
  writeFileSync(join(dir.path, "tsconfig.json"), JSON.stringify({ compilerOptions: { allowImportingTsExtensions: true, noEmit: true } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir.path, path)), { recursive: true });
    writeFileSync(join(dir.path, path), text);
  }
  return dir;
}

test("the repository's src/ passes the layering check", async () => {
  const { ok, output } = await checkLayers(REPO);
  assert.ok(ok, output);
  assert.match(output, /no dependency violations found/);
});

const cases: [string, Record<string, string>, RegExp][] = [
  [
    "an upward import (storage importing admin)",
    { "src/admin/server.ts": "export const x = 1;\n", "src/storage/store.ts": 'import { x } from "../admin/server.ts";\nexport const y = x;\n' },
    /error layer-storage: src\/storage\/store\.ts → src\/admin\/server\.ts/,
  ],
  [
    "a folder that has no place in the layer order",
    { "src/misc/util.ts": "export const x = 1;\n", "src/ingress/server.ts": 'import { x } from "../misc/util.ts";\nexport const y = x;\n' },
    /error layer-unknown-folder/,
  ],
  [
    "Bifrost's core importing a loglet implementation",
    { "src/bifrost/local/loglet.ts": "export const x = 1;\n", "src/bifrost/facade.ts": 'import { x } from "./local/loglet.ts";\nexport const y = x;\n' },
    /error bifrost-facade-above-loglets/,
  ],
  [
    "a cycle inside one layer",
    { "src/net/a.ts": 'import { b } from "./b.ts";\nexport const a = () => b;\n', "src/net/b.ts": 'import { a } from "./a.ts";\nexport const b = () => a;\n' },
    /error no-circular/,
  ],
  [
    "file I/O in the state machine",
    { "src/partition/state-machine/apply.ts": 'import { readFileSync } from "node:fs";\nexport const f = readFileSync;\n' },
    /error state-machine-pure/,
  ],
];

for (const [what, files, expected] of cases) {
  test(`the layering check fails on ${what}`, async () => {
    const dir = fixture(files);
    try {
      const { ok, output } = await checkLayers(dir.path);
      assert.equal(ok, false, output);
      assert.match(output, expected);
    } finally {
      dir.remove();
    }
  });
}

test("the determinism lint refuses clock, randomness and I/O in the state machine, and only there", async () => {
  const { ESLint } = await import("eslint");
  const eslint = new ESLint({ cwd: REPO });
  const lint = async (code: string, filePath: string) =>
    (await eslint.lintText(code, { filePath: join(REPO, filePath) })).flatMap((r) => r.messages.map((m) => m.ruleId));
  const inApply = "src/partition/state-machine/probe.ts";
  assert.deepEqual(await lint("export const t = Date.now();\n", inApply), ["no-restricted-properties"]);
  assert.deepEqual(await lint("export const r = Math.random();\n", inApply), ["no-restricted-properties"]);
  assert.deepEqual(await lint("export const d = new Date();\n", inApply), ["no-restricted-syntax"]);
  assert.deepEqual(await lint("export const s = () => setTimeout(() => 0, 1);\n", inApply), ["no-restricted-globals"]);
  assert.deepEqual(await lint('import { randomBytes } from "node:crypto";\nexport const b = randomBytes;\n', inApply), ["no-restricted-imports"]);
  assert.deepEqual(await lint("export const f = async () => { await 0; };\n", inApply), ["no-restricted-syntax"]);
  // Time taken from the record is what apply code does instead; outside apply the clock is fine.
  assert.deepEqual(await lint("export const at = (header: { ts: number }) => new Date(header.ts);\n", inApply), []);
  assert.deepEqual(await lint("export const t = Date.now();\n", "src/partition/processor.ts"), []);
});
