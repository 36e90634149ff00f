import { useEffect, useState } from "preact/hooks";

/** Where the server mounted the UI (the shell's `data-base`); every page path is below it. */
export const BASE = document.getElementById("app")?.dataset.base ?? "/ui";

export interface Route {
  /** The path below BASE, e.g. `/invocations/inv_1...`; `/` for the overview. */
  readonly path: string;
  readonly params: URLSearchParams;
}

const NAVIGATED = "reprise:navigated";

function current(): Route {
  const path = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length) : "/";
  return { path: path === "" ? "/" : path, params: new URLSearchParams(window.location.search) };
}

/** A page's own URL: `href("/invocations", { q: "status:running" })`. */
export function href(path: string, params: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") search.set(k, v);
  const qs = search.toString();
  return `${BASE}${path === "/" ? "" : path}${qs ? `?${qs}` : ""}`;
}

/** Goes to a UI URL without reloading; `replace` keeps the history entry (e.g. as a filter is typed). */
export function navigate(url: string, replace = false): void {
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.dispatchEvent(new Event(NAVIGATED));
}

/** The current route, re-rendering on back/forward and on `navigate`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    window.addEventListener("popstate", update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return route;
}

/** Plain links to UI pages navigate in place; modified clicks (new tab) and other links behave as usual. */
export function interceptLinks(): void {
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.origin !== window.location.origin || !a.pathname.startsWith(BASE)) return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
}
