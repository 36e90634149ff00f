import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { metadataConformance } from "./conformance.ts";

// One process-local instance is the whole store: every "client" is that instance.
metadataConformance("in-memory", async () => {
  const store = new InMemoryMetadataStore();
  return { client: async () => store, close: () => store.close() };
});
