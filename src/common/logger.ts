import { pino, type Logger } from "pino";

/** Root logger; subsystems derive children carrying partition id, LSN, epoch, invocation id. */
export const rootLogger: Logger = pino({
  level: process.env.REPRISE_LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "warn" : "info"),
  base: { pid: process.pid },
});

export type { Logger };
