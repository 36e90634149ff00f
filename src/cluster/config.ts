import { readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import { BadRequestError } from "../types/errors.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../invoker/retry-policy.ts";

export interface NodeConfig {
  readonly baseDir: string;
  readonly nodeName: string;
  readonly bindAddress: string;
  readonly partitions: number;
  readonly ingress: { readonly port: number; readonly bodyLimitBytes: number };
  readonly admin: { readonly port: number };
  /** Reserved for node-to-node traffic in a cluster. */
  readonly nodeToNode: { readonly port: number };
  readonly invoker: {
    readonly retry: RetryPolicy;
    readonly inactivityTimeoutMs: number;
    readonly abortTimeoutMs: number;
  };
}

export const DEFAULT_CONFIG: NodeConfig = {
  baseDir: "./reprise-data",
  nodeName: "node-1",
  bindAddress: "0.0.0.0",
  partitions: 4,
  ingress: { port: 8080, bodyLimitBytes: 10 * 1024 * 1024 },
  admin: { port: 9070 },
  nodeToNode: { port: 5122 },
  invoker: { retry: DEFAULT_RETRY_POLICY, inactivityTimeoutMs: 60_000, abortTimeoutMs: 60_000 },
};

type Json = { [k: string]: unknown };

const camel = (s: string) => s.toLowerCase().replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Effective configuration: defaults, then the TOML file (snake_case or camelCase keys), then
 * `REPRISE_*` environment variables (`__` separates sections: REPRISE_INGRESS__PORT=8081),
 * then explicit overrides (CLI flags).
 */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Json } = {}): NodeConfig {
  let merged: Json = structuredClone(DEFAULT_CONFIG) as unknown as Json;
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, "utf8");
    } catch (e) {
      throw new BadRequestError(`cannot read config file '${opts.file}': ${(e as Error).message}`, "config_unreadable");
    }
    let parsed: Json;
    try {
      parsed = parseToml(text) as Json;
    } catch (e) {
      throw new BadRequestError(`config file '${opts.file}' is not valid TOML: ${(e as Error).message}`, "config_invalid");
    }
    merged = mergeInto(merged, normalizeKeys(parsed) as Json, opts.file);
  }
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (!name.startsWith("REPRISE_") || value === undefined || name === "REPRISE_LOG_LEVEL") continue;
    const path = name.slice("REPRISE_".length).split("__").map(camel);
    let patch: Json = { [path[path.length - 1]]: value };
    for (let i = path.length - 2; i >= 0; i--) patch = { [path[i]]: patch };
    merged = mergeInto(merged, patch, `environment variable ${name}`);
  }
  merged = mergeInto(merged, opts.overrides ?? {}, "command line");
  return validate(merged as unknown as NodeConfig);
}

function normalizeKeys(v: unknown): unknown {
  if (Array.isArray(v) || typeof v !== "object" || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [camel(k), normalizeKeys(x)]));
}

/** Merges `patch` into `base`, coercing strings to the type of the default they replace. */
function mergeInto(base: Json, patch: Json, source: string, path: string[] = []): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const here = [...path, k];
    if (!(k in base)) throw new BadRequestError(`unknown configuration key '${here.join(".")}' in ${source}`, "config_unknown_key");
    const current = base[k];
    if (typeof current === "object" && current !== null) {
      if (typeof v !== "object" || v === null) throw new BadRequestError(`'${here.join(".")}' in ${source} must be a section`, "config_invalid");
      out[k] = mergeInto(current as Json, v as Json, source, here);
    } else if (typeof current === "number") {
      const n = typeof v === "string" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isFinite(n)) throw new BadRequestError(`'${here.join(".")}' in ${source} must be a number, got '${String(v)}'`, "config_invalid");
      out[k] = n;
    } else {
      out[k] = String(v);
    }
  }
  return out;
}

function validate(c: NodeConfig): NodeConfig {
  const port = (name: string, p: number) => {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new BadRequestError(`${name} must be a port number 0..65535, got ${p}`, "config_invalid");
  };
  port("ingress.port", c.ingress.port);
  port("admin.port", c.admin.port);
  port("node_to_node.port", c.nodeToNode.port);
  if (!Number.isInteger(c.partitions) || c.partitions < 1 || c.partitions > 1024) {
    throw new BadRequestError(`partitions must be an integer 1..1024, got ${c.partitions}`, "config_invalid");
  }
  if (c.ingress.bodyLimitBytes < 1) throw new BadRequestError("ingress.body_limit_bytes must be positive", "config_invalid");
  return c;
}
