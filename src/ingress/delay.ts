import { parseDuration } from "../common/http-util.ts";
import { badDelay } from "./errors.ts";

/**
 * The longest delay Restate's duration type can hold (jiff spans stop at 7,304,484 days, about
 * 20,000 years); beyond it Restate refuses the parameter, and so does Reprise rather than schedule
 * at a time no timestamp can name.
 */
export const MAX_DELAY_DAYS = 7_304_484;
const MAX_DELAY_MS = MAX_DELAY_DAYS * 86_400_000;

/** The `delay` query parameter (first match, any letter case, as Restate reads it), in ms; absent → undefined. */
export function delayParameter(query: URLSearchParams): number | undefined {
  for (const [name, value] of query) {
    if (name.toLowerCase() === "delay") return parseDelay(value);
  }
  return undefined;
}

/** ISO-8601 (`PT10S`) or friendly (`10s`, `500ms`, `1h30m`) durations, and a bare `0`. */
export function parseDelay(text: string): number {
  if (text === "0") return 0;
  const ms = parseDuration(text);
  if (ms === null) throw badDelay(`'${text}' is not a duration; use e.g. PT10S, 10s or 500ms`);
  if (!Number.isFinite(ms) || ms > MAX_DELAY_MS) throw badDelay(`'${text}' is longer than the maximum of ${MAX_DELAY_DAYS} days`);
  return ms;
}
