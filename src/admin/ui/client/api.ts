// Everything the UI shows comes from the admin API on the same origin; this is its one client.

/** A refused or failed admin call, with the server's own message (its JSON `message` when it sent one). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export type Row = Record<string, unknown>;

async function call(method: string, path: string, body?: unknown, accept = "application/json"): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { accept, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new ApiError(0, `the server cannot be reached (${(e as Error).message})`);
  }
  if (res.ok) return res;
  const text = await res.text();
  let message = text.trim() || res.statusText;
  let code: string | undefined;
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error_code?: unknown; restate_code?: unknown };
    if (typeof parsed.message === "string") message = parsed.message;
    const c = parsed.error_code ?? parsed.restate_code;
    if (typeof c === "string") code = c;
  } catch {
    // Not JSON: the text itself is the message.
  }
  throw new ApiError(res.status, message, code);
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  return (text === "" ? {} : JSON.parse(text)) as T;
}

export const api = {
  get: async <T>(path: string): Promise<T> => json<T>(await call("GET", path)),
  send: async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => json<T>(await call(method, path, body)),
  /** `POST /query` as JSON rows (NULL cells are left out of a row, as Restate answers). */
  query: async (sql: string): Promise<Row[]> => (await json<{ rows: Row[] }>(await call("POST", "/query", { query: sql }))).rows,
};

/** A SQL string literal. */
export const lit = (text: string): string => `'${text.replaceAll("'", "''")}'`;
