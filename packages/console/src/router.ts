/** Hash routes: `#/users?search=…` — the page and its state (filters, columns) live in the URL, so links share and Back works. */
export interface Route {
  /** First path segment: users, groups, audit, … */
  page: string;
  /** Further segments (an id). */
  rest: string[];
  params: URLSearchParams;
}

export function currentRoute(): Route {
  return routeOf(location.hash);
}

/**
 * A part of a URL decoded (a path segment, a value in the hash); one whose percent-encoding is broken (a
 * link cut short or typed by hand) is taken as written: a throw here, where every URL is read, would
 * leave the console blank.
 */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The route of a URL or of its hash (`#/users?search=…`). */
export function routeOf(url: string): Route {
  const at = url.indexOf("#");
  const hash = at < 0 ? "" : url.slice(at + 1).replace(/^\/?/, "");
  const [path = "", query = ""] = hash.split("?", 2) as [string?, string?];
  const [page = "", ...rest] = path.split("/").filter(Boolean).map(decodeSegment);
  return { page, rest, params: new URLSearchParams(query) };
}

export function href(page: string, params?: Record<string, string | undefined> | URLSearchParams): string {
  const query = params instanceof URLSearchParams ? params : new URLSearchParams(Object.entries(params ?? {}).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ""));
  const q = query.toString();
  return `#/${page}${q ? `?${q}` : ""}`;
}

/** Goes to a page; `replace` changes the current history entry (typing in a search box) instead of adding one. */
export function navigate(target: string, replace = false): void {
  if (replace) {
    history.replaceState(history.state, "", target);
    dispatchEvent(new HashChangeEvent("hashchange"));
  } else location.hash = target;
}
