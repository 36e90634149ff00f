import type { MessageInitShape } from "@bufbuild/protobuf";
import { PlainNodeId, type GenerationalNodeId } from "../types/ids.ts";
import type { GenerationalNodeIdSchema } from "./gen/transport_pb.ts";

type WireNodeId = { readonly id: number; readonly generation: number };

export function toWireNodeId(n: GenerationalNodeId): MessageInitShape<typeof GenerationalNodeIdSchema> {
  return { id: n.id, generation: n.generation };
}

export function fromWireNodeId(n: WireNodeId): GenerationalNodeId {
  return { id: PlainNodeId(n.id), generation: n.generation };
}

export function sameNode(a: WireNodeId, b: WireNodeId): boolean {
  return a.id === b.id && a.generation === b.generation;
}
