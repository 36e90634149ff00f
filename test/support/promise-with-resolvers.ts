// The SDK (1.17) calls Promise.withResolvers, which Node 20 lacks (it arrived in Node 22). Tests run
// SDK endpoints in-process (and the bench runs one), so they install the standard behaviour when it is missing.
type Resolvers = { promise: Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };
const P = Promise as unknown as { withResolvers?: () => Resolvers };
if (typeof P.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers(this: PromiseConstructor): Resolvers {
      let resolve!: (v: unknown) => void;
      let reject!: (e: unknown) => void;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
