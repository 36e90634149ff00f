import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  readonly data: T | undefined;
  /** The last load's failure; `data` keeps what the load before it returned. */
  readonly error: unknown;
  readonly loading: boolean;
  /** When `data` was last loaded. */
  readonly at: Date | undefined;
  reload(): void;
}

/**
 * Loads `load()` now, again whenever `key` changes, and every `everyMs` while set (live refresh).
 * A reload never overlaps the previous one, and waits while the tab is hidden.
 */
export function useLoad<T>(load: () => Promise<T>, key: string, everyMs: number | null = null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean; at?: Date; key: string }>({ loading: true, key });
  const latest = useRef(load);
  latest.current = load;
  const busy = useRef(false);
  const generation = useRef(0);

  const run = useCallback(() => {
    if (busy.current) return;
    busy.current = true;
    const mine = generation.current;
    setState((s) => ({ ...s, loading: true }));
    latest
      .current()
      .then(
        (data) => mine === generation.current && setState({ data, error: undefined, loading: false, at: new Date(), key }),
        (error: unknown) => mine === generation.current && setState((s) => ({ ...s, error, loading: false })),
      )
      .finally(() => {
        if (mine === generation.current) busy.current = false;
      });
  }, [key]);

  useEffect(() => {
    generation.current++;
    busy.current = false;
    // Data of another key is not shown while this key's first load runs.
    setState({ loading: true, key });
    run();
  }, [key]);

  useEffect(() => {
    if (everyMs === null) return;
    const timer = setInterval(() => document.visibilityState === "visible" && run(), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, run]);

  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: state.loading, at: state.at, reload: run };
}
