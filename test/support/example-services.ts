import * as restate from "@restatedev/restate-sdk";

/** Awakeable ids published by `Counter/hold`, by object key, so a test can resolve them. */
export const heldAwakeables = new Map<string, string>();

/** A stateless handler with one journaled side effect. */
export const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (ctx: restate.Context, name: string) => ctx.run("compose", () => `Hello, ${name}!`),
  },
});

export const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number) => {
      const next = ((await ctx.get<number>("value")) ?? 0) + n;
      ctx.set("value", next);
      return next;
    },
    /** Holds the key until its awakeable is resolved, so later calls queue in the inbox. */
    hold: async (ctx: restate.ObjectContext) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => void heldAwakeables.set(ctx.key, id));
      return promise;
    },
  },
});

/** Fails every attempt after one journaled step, with the message "flaky failure": retries pile up. */
export const flaky = restate.service({
  name: "Flaky",
  handlers: {
    fail: async (ctx: restate.Context) => {
      await ctx.run("step", () => 1);
      throw new Error("flaky failure");
    },
  },
});
