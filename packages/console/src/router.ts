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

/** The list each item's page was last reached from (`users/<id>` → `#/users?search=…`), its filter and all. */
const cameFrom = new Map<string, string>();

/** Called for every change of the URL: a list's item opened from the list (a row, a link) notes the list. */
export function noteArrival(oldURL: string, newURL: string): void {
  const from = routeOf(oldURL);
  const to = routeOf(newURL);
  if (to.rest.length > 0 && from.page === to.page && from.rest.length === 0) cameFrom.set(`${to.page}/${to.rest.join("/")}`, oldURL.slice(oldURL.indexOf("#")));
}

/** Where an item's page goes back to — its "← Users", after a delete: the list it was opened from, else the whole list. */
export function listHref(page: string, id: string): string {
  return cameFrom.get(`${page}/${id}`) ?? href(page);
}
