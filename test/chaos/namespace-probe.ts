/**
 * Run by harness.test.ts inside a private network namespace (through `runInPrivateNetwork`): it
 * exercises the harness's firewall and socket check on two "nodes" (uids with their own loopback
 * addresses) and writes what it observed as JSON to the file named by its first argument. It
 * deliberately leaves one process running, which the runner outside must kill by pid.
 */
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Firewall, type FirewallNode } from "../../chaos/firewall.ts";
import { setUpLoopback } from "../../chaos/namespace.ts";
import { ChaosProcess } from "../../chaos/processes.ts";
import { attributionProblems, listSockets } from "../../chaos/sockets.ts";
import { tempDir } from "../support/temp.ts";

const [resultFile] = process.argv.slice(2);
const PORT = 7000;
const a: FirewallNode = { name: "a", index: 1, address: "127.0.0.11", uid: 64_101 };
const b: FirewallNode = { name: "b", index: 2, address: "127.0.0.12", uid: 64_102 };
const dir = tempDir("reprise-chaos-probe-");

/** Echoes what it receives, or (`tick`) sends a numbered line every 50 ms to whoever connects. */
const SERVER = `const [host, port, mode] = process.argv.slice(1);
require("net").createServer((s) => {
  s.on("error", () => {});
  if (mode !== "tick") return s.on("data", (d) => s.write(d));
  let n = 0;
  const t = setInterval(() => s.write("tick " + ++n + "\\n"), 50);
  s.on("close", () => clearInterval(t));
}).listen(Number(port), host, () => console.log(JSON.stringify({ event: "ready" })));`;
/** Exits 0 once its ping is echoed, 1 if nothing comes back within 1.5 s. */
const PING = `const [host, port] = process.argv.slice(1);
const s = require("net").connect(Number(port), host, () => s.write("ping"));
s.on("data", () => process.exit(0));
s.on("error", () => process.exit(2));
setTimeout(() => process.exit(1), 1500);`;
/** Prints how many ticks it has received, every time one arrives. */
const LISTEN_TICKS = `const [host, port] = process.argv.slice(1);
let n = 0;
const s = require("net").connect(Number(port), host, () => console.log(JSON.stringify({ event: "ready" })));
s.on("data", (d) => { n += String(d).split("\\n").filter((l) => l.startsWith("tick")).length; console.log("got " + n); });
s.on("error", () => {});`;

let started = 0;
function agent(script: string, args: string[], uid?: number): ChaosProcess {
  return ChaosProcess.start({
    label: `agent-${++started}`,
    command: process.execPath,
    args: ["-e", script, ...args],
    ...(uid === undefined ? {} : { uid, gid: uid }),
    logFile: join(dir.path, `agent-${started}.log`),
  });
}

/** Whether a process of `uid` (root when undefined) gets its ping echoed by `host`'s echo server. */
async function reaches(host: string, uid?: number): Promise<boolean> {
  const code = await agent(PING, [host, String(PORT)], uid).exited;
  return code === 0;
}

/** From this (observer) process itself, which is root and never marked. */
function observerReaches(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(PORT, host, () => s.write("ping"));
    s.on("data", () => void (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
    setTimeout(() => void (s.destroy(), resolve(false)), 1500);
  });
}

const ticks = (p: ChaosProcess): number => Number(/got (\d+)\n?$/.exec(p.tail())?.[1] ?? 0);

async function main(): Promise<void> {
  await setUpLoopback();
  const firewall = await Firewall.install([a, b]);
  const servers = [agent(SERVER, [a.address, String(PORT)], a.uid), agent(SERVER, [b.address, String(PORT)], b.uid), agent(SERVER, [b.address, String(PORT + 1), "tick"], b.uid)];
  await Promise.all(servers.map((s) => s.waitForReady(5_000)));
  const listener = agent(LISTEN_TICKS, [b.address, String(PORT + 1)], a.uid);
  await listener.waitForReady(5_000);
  await sleep(300);

  const result: Record<string, unknown> = {};
  result.before = { aToB: await reaches(b.address, a.uid), bToA: await reaches(a.address, b.uid) };

  await firewall.partition([[a], [b]]);
  // Packets already on their way when the rule went in may still land.
  await sleep(200);
  const ticksAtCut = ticks(listener);
  result.cut = {
    aToB: await reaches(b.address, a.uid),
    bToA: await reaches(a.address, b.uid),
    aToItself: await reaches(a.address, a.uid),
    observerToB: await observerReaches(b.address),
    ticksAtCut,
    ticksAfterCut: ticks(listener),
    droppedPackets: await firewall.droppedPackets(),
  };

  await firewall.heal();
  const healedAt = Date.now();
  const ticksAtHeal = ticks(listener);
  // TCP retransmits with backoff: the established connection resumes within a few seconds.
  while (ticks(listener) === ticksAtHeal && Date.now() - healedAt < 10_000) await sleep(50);
  result.healed = { aToB: await reaches(b.address, a.uid), bToA: await reaches(a.address, b.uid), ticksAtHeal, ticksAfterHeal: ticks(listener), resumedMs: Date.now() - healedAt };

  // The socket check: a root process that is not the observer connects from 127.0.0.1, unattributable.
  const nodes = [a, b];
  const clean = attributionProblems(nodes, await listSockets(), [process.pid]);
  const stray = agent(`const s = require("net").connect(${PORT}, "${b.address}", () => console.log(JSON.stringify({ event: "ready" }))); setTimeout(() => s.destroy(), 30000);`, []);
  await stray.waitForReady(5_000);
  const withStray = attributionProblems(nodes, await listSockets(), [process.pid]);
  await stray.kill();
  const wildcard = agent(SERVER, ["0.0.0.0", String(PORT + 2)], a.uid);
  await wildcard.waitForReady(5_000);
  const withWildcard = attributionProblems(nodes, await listSockets(), [process.pid]);
  await wildcard.kill();
  result.verification = { clean, withStray, strayPid: stray.pid, withWildcard };

  await listener.kill();
  for (const s of servers) await s.kill();
  await firewall.remove();
  // Left running on purpose: the runner outside the namespace must kill it by pid.
  const leftover = agent("setTimeout(() => {}, 300000)", []);
  result.leftoverPid = leftover.pid;
  writeFileSync(resultFile, JSON.stringify(result));
  dir.remove();
  process.exit(0);
}

main().catch((e: unknown) => {
  dir.remove();
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
