import { sendJson } from "../common/http-util.ts";
import type { RegistrationResult } from "../schema/registry-changes.ts";
import { BadRequestError, ConflictError, RepriseError } from "../types/errors.ts";
import type { DeploymentRegistry } from "./deployments.ts";
import { deploymentJson, serviceJson } from "./rest-model.ts";
import { parseJsonObject, type AdminRoute } from "./server.ts";

export interface DeploymentRoutesOptions {
  readonly registry: DeploymentRegistry;
  /** Unfinished invocations pinned to a deployment (a removal without force refuses while there are any). */
  readonly pinnedInvocations: (deploymentId: string) => number;
}

/**
 * Restate's deployment API: register (with `force`, `breaking`, `dry_run`, `use_http_11`,
 * `metadata`), list, describe, update (PATCH) and remove. Answers depend on the admin API version
 * the client chose, as in Restate: from v3 (and for unversioned paths) an existing deployment is
 * 200 and `force` defaults to false; v1/v2 clients get 409 for it and `force` defaults to true.
 */
export function deploymentRoutes(o: DeploymentRoutesOptions): AdminRoute[] {
  const { registry } = o;
  const detailed = (id: string) => {
    const d = registry.requireDeployment(id);
    return deploymentJson(d, registry.schema.servicesOf(d.id));
  };
  const update: AdminRoute["handle"] = async (req, res, m, body, ctx) => {
    if (req.method === "PUT" && (ctx.apiVersion === 0 || ctx.apiVersion >= 3)) {
      throw new RepriseError("deprecated_put_deployment", "PUT /deployments/{id} is replaced by PATCH /deployments/{id} from admin API v3 on", false, 405);
    }
    const id = decodeURIComponent(m[1]);
    const patch = parseJsonObject(body);
    refuseLambda(patch);
    const uri = optionalUri(patch.uri);
    const additionalHeaders = stringMap(patch.additional_headers, "additional_headers");
    const useHttp11 = optionalBool(patch.use_http_11, "use_http_11");
    if (uri === undefined && additionalHeaders === undefined && useHttp11 === undefined) return sendJson(res, 200, detailed(id));
    const { deployment, services } = await registry.updateDeployment(id, {
      ...(uri !== undefined ? { uri } : {}),
      ...(additionalHeaders !== undefined ? { additionalHeaders } : {}),
      ...(useHttp11 !== undefined ? { useHttp11 } : {}),
      overwrite: optionalBool(patch.overwrite, "overwrite") ?? false,
      dryRun: optionalBool(patch.dry_run, "dry_run") ?? false,
    });
    sendJson(res, 200, deploymentJson(deployment, [...services].sort((x, y) => x.name.localeCompare(y.name))));
  };
  return [
    {
      method: "POST",
      pattern: /^\/deployments$/,
      async handle(_req, res, _m, body, ctx) {
        const req = parseJsonObject(body);
        refuseLambda(req);
        const uri = optionalUri(req.uri);
        if (uri === undefined) {
          throw new BadRequestError("request body must be JSON with a 'uri' field naming the deployment, e.g. {\"uri\": \"http://localhost:9080\"}", "missing_uri");
        }
        const force = optionalBool(req.force, "force") ?? (ctx.apiVersion === 1 || ctx.apiVersion === 2);
        const metadata = stringMap(req.metadata, "metadata");
        const { result, deployment, services } = await registry.register(
          {
            uri,
            additionalHeaders: stringMap(req.additional_headers, "additional_headers") ?? {},
            useHttp11: optionalBool(req.use_http_11, "use_http_11") ?? false,
            overwrite: force,
            allowBreaking: optionalBool(req.breaking, "breaking") ?? false,
            dryRun: optionalBool(req.dry_run, "dry_run") ?? false,
            ...(metadata ? { metadata } : {}),
          },
          Date.now(),
        );
        sendJson(
          res,
          registrationStatus(result, ctx.apiVersion, deployment.id),
          {
            id: deployment.id,
            services: services.map(serviceJson),
            min_protocol_version: deployment.minProtocolVersion,
            max_protocol_version: deployment.maxProtocolVersion,
            ...(deployment.sdkVersion ? { sdk_version: deployment.sdkVersion } : {}),
          },
          { location: `deployments/${deployment.id}` },
        );
      },
    },
    {
      method: "GET",
      pattern: /^\/deployments$/,
      async handle(_req, res) {
        const view = registry.schema;
        sendJson(res, 200, { deployments: view.listDeployments().map((d) => deploymentJson(d, view.servicesOf(d.id))) });
      },
    },
    {
      method: "GET",
      pattern: /^\/deployments\/([^/]+)$/,
      async handle(_req, res, m) {
        sendJson(res, 200, detailed(decodeURIComponent(m[1])));
      },
    },
    { method: "PATCH", pattern: /^\/deployments\/([^/]+)$/, handle: update },
    { method: "PUT", pattern: /^\/deployments\/([^/]+)$/, handle: update },
    {
      method: "DELETE",
      pattern: /^\/deployments\/([^/]+)$/,
      async handle(req, res, m) {
        const force = new URL(req.url ?? "/", "http://admin").searchParams.get("force");
        if (force !== null && force !== "true" && force !== "false") throw new BadRequestError(`force must be true or false, got '${force}'`, "invalid_force");
        await registry.remove(decodeURIComponent(m[1]), { force: force === "true", pinnedInvocations: o.pinnedInvocations });
        res.writeHead(202).end();
      },
    },
  ];
}

/** 201 for a new deployment; an existing one is 200 from admin API v3 on, and for v1/v2 a 409 (unchanged) or 201 (overwritten). */
function registrationStatus(result: RegistrationResult, apiVersion: number, id: string): number {
  const v3 = apiVersion === 0 || apiVersion >= 3;
  if (result === "created") return 201;
  if (v3) return 200;
  if (result === "unchanged") throw new ConflictError(`deployment ${id} already exists; register with force=true to overwrite it`, "deployment_exists");
  return 201;
}

function refuseLambda(body: Record<string, unknown>): void {
  if (body.arn !== undefined) throw new BadRequestError("Lambda deployments (arn) are not supported by Reprise; register an HTTP endpoint with 'uri'", "lambda_unsupported");
}

function optionalUri(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length === 0) throw new BadRequestError("'uri' must be a non-empty string", "missing_uri");
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new BadRequestError(`'${v}' is not a valid URL`, "invalid_uri");
  }
  if (u.host === "") throw new BadRequestError(`The provided uri ${v} is not absolute, only absolute URIs can be used.`, "invalid_uri");
  return v;
}

function optionalBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new BadRequestError(`'${field}' must be true or false`, `invalid_${field}`);
  return v;
}

function stringMap(v: unknown, field: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) {
    throw new BadRequestError(`'${field}' must be an object of string values`, field === "additional_headers" ? "invalid_headers" : `invalid_${field}`);
  }
  return v as Record<string, string>;
}
