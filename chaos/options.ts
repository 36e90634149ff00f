import { parseArgs } from "node:util";
import { NEMESES, parseNemeses, type NemesisName } from "./nemesis.ts";
import { parseRoleLayout, type RoleLayout } from "./topology.ts";

export interface ChaosOptions {
  readonly rounds: number;
  readonly roundMs: number;
  readonly holdMs: number;
  readonly nemeses: readonly NemesisName[];
  /** A heal must be followed by a successful call through every live ingress within this. */
  readonly recoveryBoundMs: number;
  readonly seed: number;
  readonly roles: RoleLayout;
  readonly lanes: number;
  readonly keys: number;
  readonly partitions: number;
  readonly logLevel: string;
  /** Keep the run directory (node data and logs) even when the run passes. */
  readonly keep: boolean;
}

export const USAGE = `npm run chaos -- [--short] [--rounds N] [--round-seconds S] [--hold-seconds S]
                    [--nemeses ${NEMESES.join(",")}]
                    [--recovery-bound-ms MS] [--seed N] [--lanes N] [--keys N] [--partitions N] [--keep]
Environment: CHAOS_ROUNDS, CHAOS_ROUND_SECONDS, CHAOS_HOLD_SECONDS, CHAOS_NEMESES, CHAOS_RECOVERY_BOUND_MS,
CHAOS_SEED, CHAOS_ROLES (all: every node is worker and log server, the default; first: only n1 is a worker),
CHAOS_LOG_LEVEL (the nodes' log level, default info: a failed run keeps their logs, which must tell what held a partition). Flags win over the environment.`;

/** `--short`: one round long enough for one of each of the first five nemeses with short holds. */
const SHORT = { rounds: 1, roundSeconds: 45, holdSeconds: 4 };
const FULL = { rounds: 5, roundSeconds: 60, holdSeconds: 10 };

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ChaosOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      short: { type: "boolean" },
      rounds: { type: "string" },
      "round-seconds": { type: "string" },
      "hold-seconds": { type: "string" },
      nemeses: { type: "string" },
      "recovery-bound-ms": { type: "string" },
      seed: { type: "string" },
      lanes: { type: "string" },
      keys: { type: "string" },
      partitions: { type: "string" },
      keep: { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE);
  const preset = values.short ? SHORT : FULL;
  const num = (flag: string, envName: string, fallback: number, min: number): number => {
    const raw = (values as Record<string, string | boolean | undefined>)[flag] ?? env[envName];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${flag} (${envName}) must be a number >= ${min}, got '${String(raw)}'\n${USAGE}`);
    return n;
  };
  return {
    rounds: num("rounds", "CHAOS_ROUNDS", preset.rounds, 1),
    roundMs: num("round-seconds", "CHAOS_ROUND_SECONDS", preset.roundSeconds, 5) * 1000,
    holdMs: num("hold-seconds", "CHAOS_HOLD_SECONDS", preset.holdSeconds, 0.1) * 1000,
    nemeses: parseNemeses(values.nemeses ?? env.CHAOS_NEMESES ?? NEMESES.join(",")),
    recoveryBoundMs: num("recovery-bound-ms", "CHAOS_RECOVERY_BOUND_MS", 5_000, 1),
    seed: num("seed", "CHAOS_SEED", Math.floor(Math.random() * 2 ** 31), 0),
    roles: parseRoleLayout(env.CHAOS_ROLES),
    lanes: num("lanes", "CHAOS_LANES", 6, 1),
    keys: num("keys", "CHAOS_KEYS", 8, 1),
    partitions: num("partitions", "CHAOS_PARTITIONS", 2, 1),
    logLevel: env.CHAOS_LOG_LEVEL ?? "info",
    keep: values.keep ?? false,
  };
}

/** Bad flags, or --help: the message is the usage. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
