import http2 from "node:http2";

/**
 * One HTTP/2 session per deployment origin, shared by every invocation stream to it; a session
 * that closes or errors is dropped and the next request opens a fresh one.
 */
export class DeploymentSessions {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  session(origin: string): http2.ClientHttp2Session {
    const existing = this.sessions.get(origin);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const s = http2.connect(origin);
    s.setMaxListeners(0);
    const drop = () => {
      if (this.sessions.get(origin) === s) this.sessions.delete(origin);
    };
    s.on("close", drop);
    s.on("goaway", drop);
    // Stream-level handlers report failures to their invocation; a session error only retires it.
    s.on("error", drop);
    s.unref();
    this.sessions.set(origin, s);
    return s;
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}
