import * as restate from "@restatedev/restate-sdk";

/**
 * The workload's virtual object: each key holds a list of the elements added to it. A list, not
 * a set, so an add that ran twice shows up as a duplicate instead of being absorbed.
 */
export const chaosSet = restate.object({
  name: "ChaosSet",
  handlers: {
    add: async (ctx: restate.ObjectContext, element: string) => {
      const elements = (await ctx.get<string[]>("elements")) ?? [];
      elements.push(element);
      ctx.set("elements", elements);
      return elements.length;
    },
    /** Exclusive like `add`, so a read goes through the partition's log and sees every add before it. */
    get: async (ctx: restate.ObjectContext) => (await ctx.get<string[]>("elements")) ?? [],
  },
});

export const SET_SERVICE = "ChaosSet";
