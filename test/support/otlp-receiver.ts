import http from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** One span as an OTLP exporter sent it, ids in lowercase hex. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly serviceName: string;
  /** When the receiver got it. */
  readonly receivedAt: number;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>/v1/traces` */
  readonly url: string;
  readonly spans: readonly ReceivedSpan[];
  close(): Promise<void>;
}

/**
 * A minimal OTLP/HTTP trace receiver on loopback: decodes `ExportTraceServiceRequest` protobuf
 * bodies (field numbers from opentelemetry-proto's trace.proto, common.proto, resource.proto)
 * into spans and answers an empty success.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        if (req.url !== "/v1/traces" || req.method !== "POST") throw new Error(`unexpected ${req.method} ${req.url}`);
        let body = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
        if (req.headers["content-type"] !== "application/x-protobuf") throw new Error(`unexpected content type ${req.headers["content-type"]}`);
        spans.push(...decodeExport(body));
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } catch (e) {
        res.writeHead(400).end((e as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type Fields = (field: number, wire: WireType, r: BinaryReader) => boolean;

/** Reads a message of `length` bytes (the rest when undefined), handing each field to `on`; fields it does not take are skipped. */
function readMessage(r: BinaryReader, length: number | undefined, on: Fields): void {
  const end = length === undefined ? r.len : r.pos + length;
  while (r.pos < end) {
    const [field, wire] = r.tag();
    if (!on(field, wire, r)) r.skip(wire, field);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function decodeExport(body: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const receivedAt = Date.now();
  readMessage(new BinaryReader(body), undefined, (field, _w, r) => {
    if (field !== 1) return false; // resource_spans
    let serviceName = "";
    const spans: Omit<ReceivedSpan, "serviceName" | "receivedAt">[] = [];
    readMessage(r, r.uint32(), (f, _w2, r2) => {
      if (f === 1) {
        // resource { attributes = 1 }
        readMessage(r2, r2.uint32(), (rf, _w3, r3) => {
          if (rf !== 1) return false;
          const [key, value] = keyValue(r3);
          if (key === "service.name") serviceName = String(value);
          return true;
        });
        return true;
      }
      if (f !== 2) return false; // scope_spans { spans = 2 }
      readMessage(r2, r2.uint32(), (sf, _w3, r3) => {
        if (sf !== 2) return false;
        spans.push(span(r3));
        return true;
      });
      return true;
    });
    for (const s of spans) out.push({ ...s, serviceName, receivedAt });
    return true;
  });
  return out;
}

function span(r: BinaryReader): Omit<ReceivedSpan, "serviceName" | "receivedAt"> {
  let traceId = "";
  let spanId = "";
  let parentSpanId = "";
  let name = "";
  let kind = 0;
  let startNs = 0n;
  let endNs = 0n;
  let statusCode = 0;
  const attributes: Record<string, string | number | boolean> = {};
  readMessage(r, r.uint32(), (f, _w, x) => {
    switch (f) {
      case 1:
        traceId = hex(x.bytes());
        return true;
      case 2:
        spanId = hex(x.bytes());
        return true;
      case 4:
        parentSpanId = hex(x.bytes());
        return true;
      case 5:
        name = x.string();
        return true;
      case 6:
        kind = x.int32();
        return true;
      case 7:
        startNs = BigInt(x.fixed64());
        return true;
      case 8:
        endNs = BigInt(x.fixed64());
        return true;
      case 9: {
        const [key, value] = keyValue(x);
        attributes[key] = value;
        return true;
      }
      case 15:
        readMessage(x, x.uint32(), (sf, _w2, y) => {
          if (sf !== 3) return false;
          statusCode = y.int32();
          return true;
        });
        return true;
      default:
        return false;
    }
  });
  return { traceId, spanId, parentSpanId, name, kind, startNs, endNs, attributes, statusCode };
}

/** A length-delimited KeyValue { key = 1; AnyValue value = 2 { string 1, bool 2, int64 3, double 4 } }. */
function keyValue(r: BinaryReader): [string, string | number | boolean] {
  let key = "";
  let value: string | number | boolean = "";
  readMessage(r, r.uint32(), (f, _w, x) => {
    if (f === 1) {
      key = x.string();
      return true;
    }
    if (f !== 2) return false;
    readMessage(x, x.uint32(), (vf, _w2, y) => {
      if (vf === 1) value = y.string();
      else if (vf === 2) value = y.bool();
      else if (vf === 3) value = Number(y.int64());
      else if (vf === 4) value = y.double();
      else return false;
      return true;
    });
    return true;
  });
  return [key, value];
}
