import * as restate from "@restatedev/restate-sdk";

/** Awakeable ids published by `Approvals/ask`, by tag, so a test can complete them from outside. */
export const awakeableIds = new Map<string, string>();

/** Times each `Signup/run` body started, by workflow key: a re-run must not start it again. */
export const workflowStarts = new Map<string, number>();

export const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (ctx: restate.Context, name: string) => ctx.run("compose", () => `Hello, ${name}!`),
    /** Takes no argument, so it can be invoked with GET. */
    hello: async () => "hello",
    /** The headers and path the handler was invoked with, as the SDK sees them. */
    requestHeaders: async (ctx: restate.Context) => Object.fromEntries(ctx.request().headers),
    /** Sleeps, so `/output` can see it running. */
    slow: async (ctx: restate.Context, ms: number) => {
      await ctx.sleep(ms);
      return `slept ${ms}`;
    },
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
    get: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext) => (await ctx.get<number>("value")) ?? 0),
  },
});

export const signup = restate.workflow({
  name: "Signup",
  handlers: {
    run: async (ctx: restate.WorkflowContext, email: string) => {
      await ctx.run("count", () => void workflowStarts.set(ctx.key, (workflowStarts.get(ctx.key) ?? 0) + 1));
      const link = await ctx.promise<string>("link").get();
      return `${email} confirmed via ${link}`;
    },
    click: async (ctx: restate.WorkflowSharedContext, link: string) => {
      await ctx.promise<string>("link").resolve(link);
    },
  },
});

export const approvals = restate.service({
  name: "Approvals",
  handlers: {
    ask: async (ctx: restate.Context, tag: string) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => void awakeableIds.set(tag, id));
      try {
        return `approved: ${await promise}`;
      } catch (e) {
        return `rejected: ${(e as Error).message}`;
      }
    },
  },
});

export const hidden = restate.service({
  name: "Hidden",
  handlers: { secret: async () => "secret" },
  options: { ingressPrivate: true },
});

/** One handler per kind of input declaration the SDK can make. */
export const inputs = restate.service({
  name: "Inputs",
  handlers: {
    /** The default: JSON, body optional. */
    json: async (_ctx: restate.Context, v: unknown) => v ?? null,
    /** Binary: application/octet-stream. */
    bytes: restate.handlers.handler({ input: restate.serde.binary, output: restate.serde.binary }, async (_ctx: restate.Context, v: Uint8Array) => v),
    /** Any text subtype, by the `accept` option. */
    text: restate.handlers.handler(
      { input: restate.serde.binary, output: restate.serde.binary, accept: "text/*" },
      async (_ctx: restate.Context, v: Uint8Array) => v,
    ),
    /** No input at all (an input declaration without content type). */
    none: restate.handlers.handler({ input: restate.serde.empty }, async () => "nothing"),
    /** JSON with a schema: an empty body is no JSON value. */
    schema: restate.handlers.handler(
      { input: new restate.serde.JsonSerde<{ n: number }>({ type: "object", properties: { n: { type: "number" } } }) },
      async (_ctx: restate.Context, v: { n: number }) => v.n,
    ),
  },
});

export const ALL_SERVICES = [greeter, counter, signup, approvals, hidden, inputs];
