import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Attributes, type Span } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type IdGenerator } from "@opentelemetry/sdk-trace-base";
import { randomIdHex } from "../types/random-ids.ts";

export { SpanKind, SpanStatusCode, type Span } from "@opentelemetry/api";

/** A span's place in a trace, in W3C trace context's lowercase hex. */
export interface SpanIds {
  /** 32 hex digits. */
  readonly traceId: string;
  /** 16 hex digits. */
  readonly spanId: string;
}

export interface TracingOptions {
  /** OTLP/HTTP traces URL of the collector, e.g. `http://localhost:4318/v1/traces`. */
  readonly endpoint: string;
  /** The `service.name` resource attribute of every span. */
  readonly serviceName: string;
  /** More resource attributes (e.g. the node's name). */
  readonly attributes?: Attributes;
  /** How long finished spans wait to be exported in one batch. */
  readonly exportDelayMs?: number;
}

export interface StartSpan {
  /** The span's own id, when it was chosen before (e.g. by a proposer, and carried in the log); else a fresh one. */
  readonly spanId?: string;
  /** The parent span; without one the span starts a trace (with `traceId` when given). */
  readonly parent?: SpanIds;
  readonly traceId?: string;
  readonly kind?: SpanKind;
  /** Epoch ms; default now. */
  readonly startTime?: number;
  readonly attributes?: Attributes;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const INVALID_TRACE_ID = "0".repeat(32);
const INVALID_SPAN_ID = "0".repeat(16);

/**
 * Spans through the OpenTelemetry SDK, exported over OTLP/HTTP (protobuf) in batches; a disabled
 * `Tracing` hands out spans that record nothing but still carry their ids, so callers propagate
 * trace context the same way whether or not spans are exported. Span ids may be given: an id
 * chosen where it is deterministic-safe (by whoever proposed a log record) names the span that
 * some later process, on whichever node then leads, finally exports.
 */
export class Tracing {
  private readonly provider: BasicTracerProvider | null;
  private readonly ids = new PresetIdGenerator();

  constructor(o: TracingOptions | null) {
    this.provider =
      o === null
        ? null
        : new BasicTracerProvider({
            resource: resourceFromAttributes({ "service.name": o.serviceName, ...o.attributes }),
            idGenerator: this.ids,
            spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: o.endpoint }), { scheduledDelayMillis: o.exportDelayMs ?? 1000 })],
          });
  }

  static disabled(): Tracing {
    return new Tracing(null);
  }

  get enabled(): boolean {
    return this.provider !== null;
  }

  newTraceId(): string {
    return newTraceId();
  }

  newSpanId(): string {
    return newSpanId();
  }

  startSpan(name: string, o: StartSpan = {}): Span {
    const spanId = o.spanId ?? this.newSpanId();
    const traceId = o.parent?.traceId ?? o.traceId ?? this.newTraceId();
    if (this.provider === null) return trace.wrapSpanContext({ traceId, spanId, traceFlags: TraceFlags.NONE });
    const parentContext = o.parent ? trace.setSpanContext(ROOT_CONTEXT, { ...o.parent, traceFlags: TraceFlags.SAMPLED, isRemote: true }) : ROOT_CONTEXT;
    return this.ids.with({ traceId, spanId }, () =>
      this.provider!.getTracer("reprise").startSpan(
        name,
        { kind: o.kind ?? SpanKind.INTERNAL, ...(o.startTime !== undefined ? { startTime: o.startTime } : {}), ...(o.attributes ? { attributes: o.attributes } : {}) },
        parentContext,
      ),
    );
  }

  /** Exports what has ended so far. */
  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  /** Exports what has ended and stops. */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/** The ids of a span, as its W3C `traceparent` header names them (sampled). */
export function traceparent(ids: SpanIds): string {
  return `00-${ids.traceId}-${ids.spanId}-01`;
}

/** The span a W3C `traceparent` header names; undefined for a missing, malformed or all-zero one (the request then starts a trace). */
export function parseTraceparent(header: string | undefined): SpanIds | undefined {
  const m = header === undefined ? null : TRACEPARENT.exec(header.trim());
  if (!m || m[1] === INVALID_TRACE_ID || m[2] === INVALID_SPAN_ID) return undefined;
  return { traceId: m[1]!, spanId: m[2]! };
}

export function spanIdsOf(span: Span): SpanIds {
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

/** A fresh W3C trace id (never the invalid all-zero one). */
export function newTraceId(): string {
  return randomHex(16, INVALID_TRACE_ID);
}

/** A fresh W3C span id (never the invalid all-zero one). */
export function newSpanId(): string {
  return randomHex(8, INVALID_SPAN_ID);
}

function randomHex(bytes: number, invalid: string): string {
  for (;;) {
    const hex = randomIdHex(bytes);
    if (hex !== invalid) return hex;
  }
}

/**
 * The SDK's tracer asks its id generator for a span's ids while starting it; this one answers
 * with the ids `with` was given for that one synchronous start.
 */
class PresetIdGenerator implements IdGenerator {
  private preset: SpanIds | null = null;

  with<T>(ids: SpanIds, start: () => T): T {
    this.preset = ids;
    try {
      return start();
    } finally {
      this.preset = null;
    }
  }

  generateTraceId(): string {
    return this.preset?.traceId ?? newTraceId();
  }

  generateSpanId(): string {
    return this.preset?.spanId ?? newSpanId();
  }
}
