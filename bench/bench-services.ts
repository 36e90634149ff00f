/** The services the benchmarks call besides Greeter and Counter (test/support/example-services.ts). */
import * as restate from "@restatedev/restate-sdk";

/** A handler of `n` journaled steps, each a `ctx.run`: the shape of Restate's published benchmark. */
async function runSteps(ctx: restate.Context, n: number, input: string): Promise<string> {
  for (let s = 0; s < n; s++) await ctx.run(`step-${s}`, () => s);
  return input;
}

export const steps = restate.service({
  name: "Steps",
  handlers: {
    three: (ctx: restate.Context, input: string) => runSteps(ctx, 3, input),
    nine: (ctx: restate.Context, input: string) => runSteps(ctx, 9, input),
  },
});

/** A one-way send's payload: the run it belongs to and its number within the run. */
export interface SinkMessage {
  readonly tag: string;
  readonly i: number;
}

/**
 * Numbers handled so far, by tag. A set rather than a count: an attempt retried or replayed after
 * its step was journaled reaches the end again, and must not count twice.
 */
const received = new Map<string, Set<number>>();

export function receivedCount(tag: string): number {
  return received.get(tag)?.size ?? 0;
}

/** The target of the one-way send workload: one step, then the message counts as handled end to end. */
export const sink = restate.service({
  name: "Sink",
  handlers: {
    receive: async (ctx: restate.Context, msg: SinkMessage) => {
      await ctx.run("step", () => msg.i);
      let seen = received.get(msg.tag);
      if (seen === undefined) received.set(msg.tag, (seen = new Set()));
      seen.add(msg.i);
    },
  },
});
