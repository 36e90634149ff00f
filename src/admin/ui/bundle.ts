import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { RepriseError } from "../../types/errors.ts";

/** The browser code of the UI, as the admin server serves it. */
export interface UiAssets {
  readonly js: Uint8Array;
  readonly css: Uint8Array;
}

/** The UI's sources could not be bundled: a broken checkout, not a bad request. */
export class UiBundleError extends RepriseError {
  constructor(message: string, cause: unknown) {
    super("ui_bundle_failed", `the web UI could not be built: ${message}`, false, 500, { cause });
  }
}

const ENTRY = fileURLToPath(new URL("./client/main.ts", import.meta.url));

/**
 * Bundles the client (TypeScript, preact, htm, CSS) with esbuild in memory, once, on the first
 * request for it: the assets always match the sources, need no build step before `npm start`,
 * and a server whose UI nobody opens never pays for it. A failed build is not cached, so the next
 * request tries again.
 */
export class UiBundle {
  private assets: Promise<UiAssets> | null = null;

  get(): Promise<UiAssets> {
    this.assets ??= bundle().catch((e: unknown) => {
      this.assets = null;
      throw e;
    });
    return this.assets;
  }
}

async function bundle(): Promise<UiAssets> {
  let result;
  try {
    result = await build({
      entryPoints: [ENTRY],
      bundle: true,
      write: false,
      format: "esm",
      target: "es2022",
      minify: true,
      sourcemap: false,
      outdir: "ui",
      entryNames: "app",
      logLevel: "silent",
      legalComments: "none",
    });
  } catch (e) {
    throw new UiBundleError((e as Error).message, e);
  }
  const output = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.contents ?? new Uint8Array(0);
  return { js: output(".js"), css: output(".css") };
}
