import type { IncomingMessage, ServerResponse } from "node:http";
import { BadRequestError } from "../types/errors.ts";

/** What a route learns about the request besides its path: the admin API version in its prefix (0 without one). */
export interface RouteContext {
  readonly apiVersion: number;
}

export interface AdminRoute {
  readonly method: string;
  readonly pattern: RegExp;
  handle(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray, body: Buffer, ctx: RouteContext): Promise<void>;
}

export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new BadRequestError(`request body is not valid JSON: ${(e as Error).message}`, "malformed_json");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new BadRequestError("request body must be a JSON object", "malformed_json");
  return parsed as Record<string, unknown>;
}
