import { mkdir } from "node:fs/promises";
import type { MetadataStore } from "../../metadata/metadata-store.ts";
import { BifrostImpl, type BifrostOptions } from "../bifrost-impl.ts";
import { LocalLogletProvider } from "./provider.ts";
import type { LocalLogletOptions } from "./local-loglet.ts";

/**
 * Single-node Bifrost: every segment is a local loglet under `dir` (normally `<base-dir>/bifrost`),
 * chains live in `metadata`.
 */
export async function createLocalBifrost(
  dir: string,
  metadata: MetadataStore,
  options: { readonly loglet?: LocalLogletOptions; readonly bifrost?: BifrostOptions } = {},
): Promise<BifrostImpl> {
  await mkdir(dir, { recursive: true });
  return new BifrostImpl(metadata, [new LocalLogletProvider(dir, options.loglet)], options.bifrost);
}
