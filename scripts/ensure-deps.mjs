// Installs node_modules from the lockfile when they are missing or older than it, so that
// `npm start` and `npm test` work as the first commands on a fresh clone. Plain JS: runs before
// any dependency exists.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const installed = "node_modules/.package-lock.json";
const stale = !existsSync(installed) || statSync(installed).mtimeMs < statSync("package-lock.json").mtimeMs;
if (stale) {
  process.stderr.write("reprise: installing dependencies from package-lock.json...\n");
  execSync("npm ci --no-audit --no-fund", { stdio: "inherit" });
}
