import type { InvocationResult } from "../../../types/invocation.ts";
import type { CommandHandler } from "../context.ts";
import { terminate } from "./terminate.ts";

// Restate's well-known failure (codes are HTTP-like).
const KILLED: InvocationResult = { kind: "failure", code: 409, message: "killed" };

/** An operator kills the invocation: it ends now, without running any more of its handler. */
export const kill: CommandHandler<"kill"> = (ctx, c) => terminate(ctx, c.id, KILLED);
