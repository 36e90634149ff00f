import type { Node } from "../../src/cluster/node.ts";
import { registerDeployment, startInProcess } from "./reprise.ts";
import { startSdkEndpoint, type SdkEndpoint, type SdkEndpointOptions, type ServiceDefinitions } from "./sdk-endpoint.ts";
import { tempDir } from "./temp.ts";

/** An in-process node with an SDK endpoint registered as its deployment. */
export interface Fixture {
  readonly node: Node;
  readonly sdk: SdkEndpoint;
  /** `http://127.0.0.1:<port>` of the node's ingress and admin API. */
  readonly ingress: string;
  readonly admin: string;
  /** A temporary directory owned by the fixture; the node's data lives in it. */
  readonly dir: string;
  /** Stops the node and the endpoint and deletes the directory. */
  stop(): Promise<void>;
}

export interface FixtureOptions {
  readonly services: ServiceDefinitions;
  /** Node configuration overrides, as for `startInProcess`. */
  readonly config?: Record<string, unknown>;
  /** false: the endpoint serves request/response only. */
  readonly bidirectional?: boolean;
  /** How the endpoint is served (HTTP/1.1, identity keys, ...). */
  readonly endpoint?: SdkEndpointOptions;
  /** More fields of the registration request (e.g. `use_http_11`). */
  readonly registration?: Record<string, unknown>;
}

/** Starts the endpoint, then the node, then registers the endpoint; fails if registration is refused. */
export async function startFixture(opts: FixtureOptions): Promise<Fixture> {
  const dir = tempDir();
  let sdk: SdkEndpoint | null = null;
  let node: Node | null = null;
  const stop = async (): Promise<void> => {
    await node?.stop();
    await sdk?.close();
    dir.remove();
  };
  try {
    sdk = await startSdkEndpoint(opts.services, { ...opts.endpoint, ...(opts.bidirectional === undefined ? {} : { bidirectional: opts.bidirectional }) });
    node = await startInProcess(dir.path, opts.config);
    const ingress = `http://127.0.0.1:${node.ingressPort}`;
    const admin = `http://127.0.0.1:${node.adminPort}`;
    const res = await registerDeployment(admin, sdk.url, opts.registration);
    if (res.status !== 201) throw new Error(`registering ${sdk.url} answered ${res.status}: ${await res.text()}`);
    return { node, sdk, ingress, admin, dir: dir.path, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
