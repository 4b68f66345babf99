import { html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import { ECMConflictError, ECMError, ECMNotFoundError, isGuid, type BulkActionName, type RestBulkAction, type RestGroup, type RestUser, type RestUserFilter } from "ecm-sdk/browser";
import { failed, lookAtRun, session } from "../api.js";
import { href, navigate } from "../router.js";
import "../group-picker.js";
import { RowWindow } from "../row-window.js";
import { FormShown, groupsOnlySystemAdministratorsHandOut, navigateWithNotice, openDialog, Page, PROFILES_SHOWN, sourceText, statusBadge, styled, unlistedProfile, when } from "../ui.js";

const PAGE_SIZE = 100;
/** The most users one request of the list may ask for. */
const MAX_PAGE = 10_000;
const ROW_HEIGHT = 30;
/** Rows picked one by one that a bulk action takes (the server's limit on `ids`); past it, "all N matching" sends the filter. */
const SELECTED_MAX = 10_000;
/** From this many rows picked one by one, a bulk action asks first, as "all N matching" does. */
const CONFIRM_FROM = 100;
/** Typing pauses this long before the search runs. */
const SEARCH_DELAY_MS = 150;
/** A jump (scrollbar dragged) loads once the position holds this long, not for every page passed. */
const JUMP_DELAY_MS = 80;
/** Scrolling pauses this long before its position is kept in the history entry. */
const KEEP_DELAY_MS = 150;
/** A filtered list grows page by page: coming back to it loads at most this many pages to get where it was. */
const RESTORED_PAGES = 50;

/** Where a list was scrolled (its first row in view), kept in its history entry: Back from a user comes to the same rows. */
interface KeptView {
  filter: string;
  row: number;
}
const keptView = (): KeptView | undefined => (history.state as { usersView?: KeptView } | null)?.usersView;

interface Column {
  label: string;
  width: string;
  cell: (u: RestUser) => TemplateResult | string;
}

const COLUMNS: Record<string, Column> = {
  username: { label: "Username", width: "minmax(48px, 1.2fr)", cell: (u) => u.username },
  displayName: { label: "Display name", width: "minmax(48px, 1.2fr)", cell: (u) => u.displayName },
  email: { label: "Email", width: "minmax(48px, 1.4fr)", cell: (u) => u.email ?? "" },
  // Never narrower than its longest badge ("Not yet valid", about 91 px at 12 px, and the cell's padding): a cell hides what overflows it.
  status: { label: "Status", width: "minmax(8.5em, 0.8fr)", cell: (u) => statusBadge(u) },
  groups: { label: "Groups", width: "minmax(48px, 1fr)", cell: (u) => (u.groups ?? []).join(", ") },
  loginName: { label: "Login name", width: "minmax(48px, 1fr)", cell: (u) => u.loginName },
  firstName: { label: "First name", width: "minmax(48px, 1fr)", cell: (u) => u.firstName ?? "" },
  lastName: { label: "Last name", width: "minmax(48px, 1fr)", cell: (u) => u.lastName ?? "" },
  source: { label: "Source", width: "minmax(48px, 1fr)", cell: (u) => sourceText(u) },
  validTo: { label: "Valid to", width: "minmax(48px, 1.2fr)", cell: (u) => when(u.validTo) },
  description: { label: "Description", width: "minmax(48px, 1.5fr)", cell: (u) => u.description ?? "" },
};
const DEFAULT_COLUMNS = ["username", "displayName", "email", "status", "groups"];

const ACTIONS: { action: BulkActionName; label: string; group?: boolean; confirm?: boolean }[] = [
  { action: "disable", label: "Disable" },
  { action: "enable", label: "Enable" },
  { action: "clear-lockout", label: "Clear lockout" },
  { action: "add-to-group", label: "Add to group…", group: true },
  { action: "remove-from-group", label: "Remove from group…", group: true },
  { action: "delete", label: "Delete…", confirm: true },
];

/**
 * The filter of the URL's parameters (the same names as the REST API's). A value no filter takes
 * (`enabled=maybe`, `profileId=abc`) filters nothing; one the server refuses (an unknown group) is its
 * error, said on the page.
 */
function filterOf(params: URLSearchParams): RestUserFilter {
  const bool = (name: string) => (params.get(name) === "true" ? true : params.get(name) === "false" ? false : undefined);
  const profile = params.get("profileId") ?? "";
  return {
    search: params.get("search") || undefined,
    enabled: bool("enabled"),
    lockedOut: bool("lockedOut"),
    expired: bool("expired"),
    groupId: params.get("groupId") || undefined,
    source: params.get("source") || undefined,
    linkedTo: params.get("linkedTo") || undefined,
    profileId: /^-?\d{1,10}$/.test(profile) ? Number(profile) : undefined,
  };
}

/** `directory:<id>` or `identity-provider:<alias>`: which kind of source, and its id; undefined for any other source. */
function oneSourceOf(source: string | undefined): { kind: "directory" | "identity provider"; id: string } | undefined {
  const [, type, id] = /^(directory|identity-provider):(.+)$/.exec(source ?? "") ?? [];
  return id ? { kind: type === "directory" ? "directory" : "identity provider", id } : undefined;
}

/** Escape closes a menu (a <details>) and leaves the focus on its summary, as a menu button does. */
function closeOnEscape(e: KeyboardEvent): void {
  const menu = e.currentTarget as HTMLDetailsElement;
  if (e.key !== "Escape" || !menu.open) return;
  e.preventDefault();
  menu.open = false;
  menu.querySelector("summary")?.focus();
}

/** The focus gone from an open menu to elsewhere (Tab past its last box) closes it, as a menu button's does: left open, it covers the table's right columns. */
function closeOnLeave(e: FocusEvent): void {
  const menu = e.currentTarget as HTMLDetailsElement;
  if (menu.open && e.relatedTarget instanceof Node && !menu.contains(e.relatedTarget)) menu.open = false;
}

const isUnfiltered = (f: RestUserFilter) => Object.values(f).every((v) => v === undefined);

/**
 * The bulk action this tab started last, while the users page follows it (and for whom): the page is
 * made anew when the user comes back to it (from a user opened meanwhile), and follows it on.
 */
let followed: { run: RestBulkAction; by: string | undefined } | null = null;

interface LoadedPage {
  items: RestUser[];
  next: string | null;
}

/**
 * The users of the whole directory in one table. Only the visible rows are in the DOM (virtual rows);
 * pages of 100 load as they come into view: the next page by its cursor, or — for a jump in the
 * unfiltered list — from the cursor the server gives for that position. A filtered list grows as it is
 * scrolled. The count comes when it comes; nothing waits for it.
 */
class UsersPage extends Page {
  #filter: RestUserFilter = {};
  #filterKey = "";
  #pages = new Map<number, LoadedPage>();
  /** Pages on their way: how to cancel each, and when it is done. */
  #loading = new Map<number, { controller: AbortController; done: Promise<void> }>();
  /** Coming back to a filtered list loads its pages down to this one: scrolling (still at the top) must not cancel them. */
  #restoringTo = -1;
  /**
   * A page of rows failed to load under this filter: nothing loads on its own until the filter changes, or
   * Try again (offered by a failure that may pass). Each render asks for the visible pages, and a failure
   * renders (the message): retrying there would ask again and again — without even a request in between
   * once the session has ended, freezing the tab.
   */
  #failed = false;
  #count: number | null = null;
  /** The count of the filter failed to be read: Try again counts again (#readAgain). */
  #countFailed = false;
  /** A menu's read failed (readMenus): Try again reads them again. */
  #menusFailed = false;
  /**
   * The server's 404 said last (the message it shows) and the id it names: the filter's read, or an export,
   * refused for an id of the filter that names nothing. Not said when the page says itself that this id
   * names nothing (#unknownIds), in its own words — one message, not two.
   */
  #notFound: { message: Page["message"]; id: unknown } | null = null;
  #countAbort: AbortController | null = null;
  #generation = 0;
  #jumpTimer: ReturnType<typeof setTimeout> | undefined;
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  #keepTimer: ReturnType<typeof setTimeout> | undefined;
  /** The history entry the search box last made: while it is the current one, typing goes on in it. */
  #searchEntry: string | null = null;
  /** The search the box itself asked for, until its route is applied (the box already shows it, and maybe more typed since). */
  #searchSent: string | undefined;
  #selected = new Set<string>();
  #allMatching = false;
  #active = 0;
  /** The groups only a system administrator hands out (groupsOnlySystemAdministratorsHandOut); null until read: the dialog's picker offers none meanwhile. */
  #guarded: ReadonlySet<string> | null = null;
  /** The group chosen in the add or remove dialog. */
  #bulkGroup: RestGroup | null = null;
  #profiles: RestUser[] = [];
  /** The profiles menu holds every profile: a profile id of the URL that it does not hold names none. */
  #allProfiles = false;
  /** The identity providers a user may be linked to (the Linked to menu); null until read. */
  #providers: { alias: string; displayName: string }[] | null = null;
  /** The one directory or provider of the filter (`source=directory:<id>`), read by its id: its name, or null when there is none. */
  #namedSource: { source: string; name: string | null } | null = null;
  #pendingAction: BulkActionName | null = null;
  #run: RestBulkAction | null = null;
  /** Why the last look at the run failed, while the page looks again (lookAtRun); null once one answered. */
  #lookTrouble: string | null = null;
  /** A Stop of the run shown is on its way. */
  #stopping = false;
  #exporting = false;
  /**
   * The Columns menu is open: its checkboxes exist only then, so that a column's name ("Username",
   * "Status") names one control of the page, the filter or field of that name, not a hidden checkbox too.
   */
  #columnsOpen = false;
  /** Why the server refused the user the New user dialog sent (said in the dialog, which stays open). */
  #newUserRefusal: string | null = null;
  /** What the New user dialog's fields held when it opened (nothing): what is typed since is kept when the session ends or the page is left with it open. */
  readonly #newUserForm = new FormShown();

  #window = new RowWindow(this, { scrollElement: () => this.querySelector<HTMLDivElement>(".viewport"), rowHeight: ROW_HEIGHT, overscan: 12 });

  /** A click elsewhere closes the open Columns menu (a click on nothing focusable moves no focus: closeOnLeave does not see it). */
  readonly #closeMenuElsewhere = (event: PointerEvent) => {
    const menu = this.querySelector<HTMLDetailsElement>("details.menu");
    if (menu?.open && !menu.contains(event.target as Node)) menu.open = false;
  };

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener("pointerdown", this.#closeMenuElsewhere, { capture: true });
    // A run this tab started is still followed: its progress in the bar, its report when it ends.
    if (followed && followed.by === session.me?.id) {
      const { run } = followed;
      this.#run = run;
      void this.oneAtATime(() => this.attempt(() => this.#follow(run)));
    }
    // The first rows first: the groups granting system-administrator and the profiles are asked for once they are in.
    void this.#applyRoute().then(() => {
      if (!this.isConnected) return;
      this.#readMenus();
    });
  }

  /** What the filters and bulk actions offer: read once the first rows are in; one failed to be read offers Try again, which reads them again. */
  #readMenus(): void {
    this.#menusFailed = false;
    const again = (e: unknown) => {
      this.#menusFailed = true;
      this.fail(e, this.#readAgain);
    };
    // Who is in a group that grants system-administrator is a system administrator's to change: no bulk
    // action offers it to others (the dialog's group picker leaves them out).
    groupsOnlySystemAdministratorsHandOut().then((guarded) => { this.#guarded = new Set(guarded.map((g) => g.id)); this.requestUpdate(); }, again);
    session.api.users({ profileId: 0 }, { max: PROFILES_SHOWN }).then((p) => { this.#profiles = p.items; this.#allProfiles = p.next === null; this.requestUpdate(); }, again);
    session.security.identityProviders().then((providers) => { this.#providers = providers; this.requestUpdate(); }, again);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener("pointerdown", this.#closeMenuElsewhere, { capture: true });
    clearTimeout(this.#searchTimer);
    // Not written now: the history entry is already the next page's.
    clearTimeout(this.#keepTimer);
    this.#reset();
  }

  override routeChanged(): void {
    void this.#applyRoute();
    super.routeChanged();
  }

  get #columns(): string[] {
    const cols = (this.route.params.get("cols") ?? "").split(",").filter((c) => c in COLUMNS);
    return cols.length ? cols : DEFAULT_COLUMNS;
  }

  get #unfiltered(): boolean {
    return isUnfiltered(this.#filter);
  }

  /**
   * A new filter (search typed, filter chosen, Back pressed): everything of the old one is dropped and
   * its requests cancelled. Settles when the first page has loaded (or failed).
   */
  #applyRoute(): Promise<void> {
    const filter = filterOf(this.route.params);
    const key = JSON.stringify(filter);
    if (key === this.#filterKey) return Promise.resolve();
    this.#filterKey = key;
    this.#filter = filter;
    this.#showSearch();
    void this.#readSource();
    this.#reset();
    // What the last filter was refused for is not said of this one.
    this.clearError();
    this.#selected.clear();
    this.#allMatching = false;
    this.#active = 0;
    const generation = this.#generation;
    const kept = keptView();
    this.querySelector(".viewport")?.scrollTo({ top: 0 });
    // The count is asked for once the first rows are in, so that it never holds them up on the server.
    return this.#load(0).then(async () => {
      if (generation !== this.#generation) return;
      const counted = this.#countRows();
      if (kept?.filter === key && kept.row > 0) await this.#restore(kept.row, generation, counted);
    });
  }

  /** Counts the users of the filter (the count never holds up the rows: asked once they are in). */
  #countRows(): Promise<void> {
    const generation = this.#generation;
    const countAbort = (this.#countAbort = new AbortController());
    this.#countFailed = false;
    return session.api.countUsers(this.#filter, { signal: countAbort.signal }).then(
      (n) => { if (generation === this.#generation) { this.#count = n; this.requestUpdate(); } },
      (e) => {
        if (generation !== this.#generation) return;
        this.#countFailed = true;
        this.fail(e, this.#readAgain);
      },
    );
  }

  override fail(error: unknown, retry?: () => void): void {
    super.fail(error, retry);
    this.#notFound = error instanceof ECMNotFoundError ? { message: this.message, id: (error.additionalInfo as { id?: unknown } | undefined)?.id } : null;
  }

  /**
   * Try again, whichever read failed: the rows (those in view load again once drawn), their count, the
   * filter's directory or provider, the menus — each that failed, not only the one whose failure was said
   * last (the server gone, all of them failed, one after the other).
   */
  readonly #readAgain = (): void => {
    this.#failed = false;
    if (this.#countFailed) void this.#countRows();
    void this.#readSource();
    if (this.#menusFailed) this.#readMenus();
  };

  /**
   * Back where this list was left: the rows down to there in the table (the whole list's once counted;
   * a filtered list's pages loaded one after the other), then scrolled to.
   */
  async #restore(row: number, generation: number, counted: Promise<void>): Promise<void> {
    if (this.#unfiltered) await counted;
    else await this.#loadPagesTo(Math.min(Math.floor(row / PAGE_SIZE) + 1, RESTORED_PAGES), generation);
    if (generation !== this.#generation) return;
    // The table's height follows its row count a render later.
    while (!(await this.updateComplete));
    this.#window.scrollToTop(row);
    this.#active = Math.min(row, this.#rowCount - 1);
  }

  /** A filtered list's pages 1 to `last`, one after the other (each needs the one before's cursor), none cancelled as it scrolls by. */
  async #loadPagesTo(last: number, generation: number): Promise<void> {
    this.#restoringTo = last;
    try {
      for (let k = 1; k <= last && this.#pages.get(k - 1)?.next && generation === this.#generation; k++) await this.#load(k);
    } finally {
      if (generation === this.#generation) this.#restoringTo = -1;
    }
  }

  /** Keeps where the list is scrolled in its history entry; `now` before leaving it. */
  #keepView(now = false): void {
    clearTimeout(this.#keepTimer);
    const keep = () => {
      if (!this.querySelector(".viewport")) return;
      const usersView: KeptView = { filter: this.#filterKey, row: this.#window.firstInView };
      history.replaceState({ ...(history.state as object | null), usersView }, "");
    };
    if (now) keep();
    else this.#keepTimer = setTimeout(keep, KEEP_DELAY_MS);
  }

  #reset(): void {
    this.#generation++;
    for (const { controller } of this.#loading.values()) controller.abort();
    this.#restoringTo = -1;
    this.#countAbort?.abort();
    clearTimeout(this.#jumpTimer);
    this.#loading.clear();
    this.#pages.clear();
    this.#count = null;
    this.#countFailed = false;
    this.#failed = false;
  }

  /** Rows the table has room for: all users when the list is unfiltered and counted; else what is loaded, plus one while more follow. */
  get #rowCount(): number {
    if (this.#unfiltered && this.#count !== null) return this.#count;
    let loaded = 0;
    for (let k = 0; this.#pages.has(k); k++) loaded += this.#pages.get(k)!.items.length;
    const last = this.#pages.get(Math.ceil(loaded / PAGE_SIZE) - 1);
    // A row "Loading…" while more follow; none once reading failed (its error says why, and nothing is on its way).
    return loaded + ((this.#pages.size === 0 || last?.next) && !this.#failed ? 1 : 0);
  }

  #row(index: number): RestUser | undefined {
    return this.#pages.get(Math.floor(index / PAGE_SIZE))?.items[index % PAGE_SIZE];
  }

  /**
   * Loads page k: after page k-1's last user when that is loaded, else (unfiltered) from the position's
   * cursor. Settles when done (or failed) — a page already on its way too, when that one is.
   */
  #load(k: number): Promise<void> {
    const pending = this.#loading.get(k);
    if (pending) return pending.done;
    if (this.#failed || this.#pages.has(k)) return Promise.resolve();
    const previous = this.#pages.get(k - 1);
    if (k > 0 && !previous?.next && !this.#unfiltered) return Promise.resolve();
    const controller = new AbortController();
    const generation = this.#generation;
    const signal = controller.signal;
    /** Where page k starts: after page k-1, or at a position of the whole list and the rows to pass over from there. */
    const start = async (): Promise<{ cursor: string | null; skip: number }> => {
      if (k === 0 || previous?.next) return { cursor: k === 0 ? null : previous!.next, skip: 0 };
      const near = await session.api.userPosition(k * PAGE_SIZE, { signal });
      // The server answers a position it keeps at or before the one asked (PostgreSQL: the start of a
      // search bucket, thousands of rows before): the rows between are read and passed over, so that
      // each row is drawn at its own index, and pages loaded this way never repeat each other's rows.
      const skip = k * PAGE_SIZE - near.position;
      return { cursor: near.cursor, skip: skip > 0 && skip + PAGE_SIZE <= MAX_PAGE ? skip : 0 };
    };
    const done = (async () => {
      try {
        const { cursor, skip } = await start();
        const read = await session.api.users(this.#filter, { max: PAGE_SIZE + skip, cursor }, { signal });
        const page = skip === 0 ? read : { ...read, items: read.items.slice(skip) };
        if (generation !== this.#generation) return;
        this.#pages.set(k, page);
        this.requestUpdate();
      } catch (error) {
        if (generation !== this.#generation) return;
        // An abort (scrolled away) is no failure: the page loads again when it comes back into view.
        if (!controller.signal.aborted) this.#failed = true;
        // Try again (the server unreachable a moment): the visible pages load again, what is chosen stays.
        this.fail(error, this.#readAgain);
      } finally {
        if (this.#loading.get(k)?.controller === controller) this.#loading.delete(k);
      }
    })();
    this.#loading.set(k, { controller, done });
    return done;
  }

  /** After each render: load what is visible; cancel what scrolled far away. */
  #ensureVisibleLoaded(): void {
    const range = this.#window.range;
    if (range.first > range.last) return;
    const first = Math.floor(range.first / PAGE_SIZE);
    const last = Math.floor(range.last / PAGE_SIZE);
    for (const [k, { controller }] of this.#loading) {
      if ((k < first - 2 || k > last + 2) && k > this.#restoringTo) {
        controller.abort();
        this.#loading.delete(k);
      }
    }
    clearTimeout(this.#jumpTimer);
    const jumps: number[] = [];
    for (let k = first; k <= last; k++) {
      if (this.#pages.has(k) || this.#loading.has(k)) continue;
      if (k === 0 || this.#pages.get(k - 1)?.next || this.#loading.has(k - 1)) {
        if (!this.#loading.has(k - 1)) void this.#load(k);
      } else if (this.#unfiltered) jumps.push(k);
    }
    if (jumps.length) this.#jumpTimer = setTimeout(() => void this.#load(jumps[0]!), JUMP_DELAY_MS);
  }

  /**
   * The search box follows the route (Back, Forward, a link) — but not the route the box itself just
   * asked for: rendering that value into it would wipe what was typed meanwhile (a letter typed while
   * the list of the previous ones loaded was lost). So the box is written here, not bound in render.
   */
  #showSearch(): void {
    const shown = this.#filter.search ?? "";
    const box = this.querySelector<HTMLInputElement>("input[data-search]");
    if (shown !== this.#searchSent) {
      // A route the box did not ask for (Back, a link): what was typed and not yet sent is dropped with it.
      clearTimeout(this.#searchTimer);
      if (box && box.value !== shown) box.value = shown;
    }
    this.#searchSent = undefined;
  }

  protected override firstUpdated(): void {
    this.#showSearch();
    // A new user typed when the session ended (or the page was left with the dialog open): the dialog again, with it.
    this.restoreUnsaved("users/new", (edits) => {
      this.#openNewUser();
      this.#newUserForm.restore(this.#newUserFormElement, edits);
    });
  }

  get #newUserFormElement(): HTMLFormElement {
    return this.querySelector<HTMLFormElement>("#new-user form")!;
  }

  protected override unsavedEdits(): { page: string; edits: Record<string, string> } {
    const form = this.querySelector<HTMLFormElement>("#new-user form");
    return { page: "users/new", edits: form?.closest("dialog")?.open ? this.#newUserForm.edits(form) : {} };
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    const count = this.#rowCount;
    if (this.#window.count !== count) {
      this.#window.count = count;
      this.requestUpdate();
      return;
    }
    this.#ensureVisibleLoaded();
  }

  #setParam(name: string, value: string | undefined, replace = false): void {
    const params = new URLSearchParams(this.route.params);
    if (value === undefined || value === "") params.delete(name);
    else params.set(name, value);
    navigate(href("users", params), replace);
  }

  #onSearch(event: InputEvent): void {
    const value = (event.target as HTMLInputElement).value;
    clearTimeout(this.#searchTimer);
    // The first keystrokes of a typing add a history entry, the next ones replace that entry: Back goes to
    // the list before the typing (not to the previous letter, nor past that list).
    this.#searchTimer = setTimeout(() => {
      this.#searchSent = value.trim() === "" ? "" : value;
      this.#setParam("search", value.trim() === "" ? undefined : value, location.hash === this.#searchEntry);
      this.#searchEntry = location.hash;
    }, SEARCH_DELAY_MS);
  }

  /**
   * One directory or provider (`directory:<id>`, as its page links to its users): an option of its own,
   * named as its users' source — by the read of it, or by its first user until that answers.
   */
  #oneSource(): [string, string][] {
    const source = this.#filter.source;
    const one = oneSourceOf(source);
    if (!source || !one) return [];
    if (this.#sourceName === null) return [[source, `Unknown ${one.kind}`]];
    const first = this.#row(0);
    return [[source, this.#sourceName ?? (first?.source?.name ? sourceText(first) : source)]];
  }

  /** The name read for the filter's one directory or provider; null when there is none such; undefined until read. */
  get #sourceName(): string | null | undefined {
    return this.#namedSource !== null && this.#namedSource.source === this.#filter.source ? this.#namedSource.name : undefined;
  }

  /** Reads the directory or provider the filter names (no user may be there to name it: none yet, or it is none at all). */
  async #readSource(): Promise<void> {
    const source = this.#filter.source;
    const one = oneSourceOf(source);
    if (!source || !one || this.#namedSource?.source === source) return;
    this.#namedSource = null;
    try {
      // A directory's id is a guid: anything else names none (the SDK refuses it before asking the server).
      const name =
        one.kind === "identity provider" ? `Identity provider: ${(await session.security.identityProvider(one.id)).displayName}`
        : isGuid(one.id) ? `Directory: ${(await session.security.directory(one.id)).name}`
        : null;
      if (this.#filter.source === source) this.#namedSource = { source, name };
    } catch (error) {
      if (this.#filter.source !== source) return;
      if (error instanceof ECMNotFoundError) this.#namedSource = { source, name: null };
      else this.fail(error, this.#readAgain);
    }
    this.requestUpdate();
  }

  /**
   * The Linked to menu: every identity provider, and the URL's alias when it is none of them (named so
   * once they are read). Not shown while there is no provider to pick and the URL names none.
   */
  #linkOptions(): [string, string][] {
    const alias = this.#filter.linkedTo;
    const providers = (this.#providers ?? []).map((p): [string, string] => [p.alias, `Linked to ${p.displayName}`]);
    if (alias === undefined || providers.some(([value]) => value === alias)) return providers;
    return [...providers, [alias, this.#unknownProvider() ? "Unknown identity provider" : `Linked to ${alias}`]];
  }

  /** The URL's linkedTo names no identity provider, now that they are read. */
  #unknownProvider(): boolean {
    const alias = this.#filter.linkedTo;
    return alias !== undefined && this.#providers !== null && !this.#providers.some((p) => p.alias === alias);
  }

  /** The ids of the URL that name nothing, each in words (the server answers the list so filtered with a 404: #notFound). */
  #unknownIds(): { id: string; text: string }[] {
    const one = oneSourceOf(this.#filter.source);
    const profile = this.#filter.profileId;
    const alias = this.#filter.linkedTo;
    return [
      ...(one && this.#sourceName === null ? [{ id: one.id, text: `There is no ${one.kind} “${one.id}”: no user comes from it.` }] : []),
      ...(alias !== undefined && this.#unknownProvider() ? [{ id: alias, text: `There is no identity provider “${alias}”: no user is linked to it.` }] : []),
      ...(profile !== undefined && this.#unknownProfile(profile) ? [{ id: String(profile), text: `There is no profile #${profile}: no user has it.` }] : []),
    ];
  }

  /** A profile id (> 0) that none of the profiles has, once the menu holds them all (past that, it may be one not read). */
  #unknownProfile(id: number): boolean {
    return id > 0 && this.#allProfiles && !this.#profiles.some((p) => p.numericId === id);
  }

  /** A row is loaded: until then the header box would select nothing (and untick itself), so it is disabled. */
  get #anyLoaded(): boolean {
    for (const page of this.#pages.values()) if (page.items.length > 0) return true;
    return false;
  }

  /** The ids of the rows loaded so far. */
  #loadedIds(): string[] {
    return [...this.#pages.values()].flatMap((p) => p.items.map((u) => u.id));
  }

  #toggle(user: RestUser): void {
    if (this.#allMatching) {
      // Every row was shown ticked: unticking one leaves the others loaded, never this one (the server
      // acts on ids or on a whole filter, not on a filter but some), and says so.
      this.#allMatching = false;
      this.#selected = new Set(this.#loadedIds().filter((id) => id !== user.id));
      this.notify(`Unticking one of all matching leaves the ${this.#selected.size.toLocaleString()} other rows loaded so far selected, not all matching.`, "warn");
    } else if (this.#selected.has(user.id)) this.#selected.delete(user.id);
    else this.#selected.add(user.id);
    this.requestUpdate();
  }

  protected override get working(): boolean {
    return super.working || this.#exporting;
  }

  /** The row the keyboard was on (a bulk action's bar goes with its selection): where it goes on from, else the heading. */
  protected override focusFallback(): HTMLElement | null {
    return this.querySelector<HTMLElement>(`[data-index="${this.#active}"]`) ?? super.focusFallback();
  }

  #open(user: RestUser | undefined): void {
    if (!user) return;
    this.#keepView(true);
    navigate(href(`users/${encodeURIComponent(user.id)}`));
  }

  /** Arrow keys, Page Up/Down, Home/End move the focused row; Space selects; Enter opens. */
  #onKey(event: KeyboardEvent): void {
    const count = this.#rowCount;
    const visible = Math.max(1, Math.floor((this.querySelector(".viewport")?.clientHeight ?? 300) / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: visible, PageUp: -visible, Home: -Infinity, End: Infinity };
    if (event.key === "End" && !this.#unfiltered) {
      event.preventDefault();
      void this.#toLastRow();
    } else if (event.key in moves) {
      event.preventDefault();
      this.#moveBy(moves[event.key]!, count);
    } else if (event.key === " ") {
      event.preventDefault();
      const user = this.#row(this.#active);
      if (user) this.#toggle(user);
    } else if (event.key === "Enter") {
      this.#open(this.#row(this.#active));
    }
  }

  /** Moves the focused row by `delta` rows, within the `count` the table has. */
  #moveBy(delta: number, count = this.#rowCount): void {
    this.#active = Math.max(0, Math.min(count - 1, this.#active + delta));
    this.#window.scrollToIndex(this.#active);
    this.requestUpdate();
    void this.updateComplete.then(() => requestAnimationFrame(() => this.querySelector<HTMLElement>(`[data-index="${this.#active}"]`)?.focus()));
  }

  /**
   * End in a filtered list, whose length is known only once its pages are in: they are loaded one
   * after the other (at most RESTORED_PAGES, as a list Back returns to), then its last row takes the focus.
   */
  async #toLastRow(): Promise<void> {
    const generation = this.#generation;
    await this.#loadPagesTo(RESTORED_PAGES - 1, generation);
    if (generation !== this.#generation) return;
    // The table takes its new length in the render after the pages came (updated): then it can scroll there.
    this.requestUpdate();
    await this.updateComplete;
    this.#moveBy(Infinity);
  }

  async #export(): Promise<void> {
    this.#exporting = true;
    this.requestUpdate();
    await this.attempt(async () => {
      // The browser's own download saves it to disk as the server sends it (a million users are hundreds
      // of MB): it sends no token, so the server gives a one-time link for this session. Opened as a page
      // (not a `download` link): the CSV, an attachment, is saved and this page stays; a refused link
      // brings the browser back to this list, which says why, where a download would only have failed.
      const { url } = await session.api.usersCsvLink(this.#filter);
      location.assign(new URL(url, location.origin).href);
    });
    this.#exporting = false;
    this.requestUpdate();
  }

  /** The New user dialog, empty: what was typed for someone before (a password above all) is not offered for the next user. */
  #openNewUser(): void {
    this.#newUserRefusal = null;
    this.requestUpdate();
    this.#newUserFormElement.reset();
    this.#newUserForm.take(this.#newUserFormElement);
    openDialog(this, "new-user");
  }

  /** Creates a local user from the New user dialog, then opens it; a refusal is said in the dialog, which keeps what was typed. */
  async #createUser(event: SubmitEvent): Promise<void> {
    if ((event.submitter as HTMLButtonElement | null)?.value !== "create") return;
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    const username = text("username");
    const password = String(data.get("password") ?? "");
    await this.oneAtATime(async () => {
      try {
        const { value } = await session.api.createUser({
          username,
          ...(text("firstName") && { firstName: text("firstName") }),
          ...(text("lastName") && { lastName: text("lastName") }),
          ...(text("email") && { email: text("email") }),
          ...(password && { password, changePassword: data.get("changePassword") === "on" }),
        });
        this.#newUserRefusal = null;
        form.closest("dialog")!.close();
        navigateWithNotice(href(`users/${encodeURIComponent(value.id)}`), `Created ${value.username}.`);
      } catch (error) {
        // A refusal of the server (a name taken, a weak password) is said where it was typed; anything else on the page.
        this.#newUserRefusal = error instanceof ECMError && error.status >= 400 && error.status < 500 && error.status !== 401 ? failed(error, (field) => this.labelOf(field)) : null;
        if (this.#newUserRefusal === null) {
          // Said first, the dialog still open: an ended session keeps what it holds (unsavedEdits).
          this.fail(error);
          form.closest("dialog")!.close();
        }
        this.requestUpdate();
        if (error instanceof ECMError && this.#newUserRefusal !== null) {
          // Create was disabled while the request ran, which left the keyboard nowhere in the dialog: it
          // goes to the field the refusal names (the alert is read out), else to the first.
          const field = (error.additionalInfo as { field?: unknown } | undefined)?.field;
          const named = typeof field === "string" ? form.querySelector<HTMLElement>(`[name="${CSS.escape(field)}"]`) : null;
          (named ?? form.querySelector<HTMLElement>("[name=username]"))?.focus();
        }
      }
    });
  }

  #askAction(action: BulkActionName): void {
    this.#pendingAction = action;
    this.#bulkGroup = null;
    this.requestUpdate();
    const entry = ACTIONS.find((a) => a.action === action)!;
    // A few rows chosen one by one are acted on at once; "all N matching" (any number, maybe the whole directory) and many rows are asked first.
    if (entry.group || entry.confirm || this.#allMatching || this.#selected.size >= CONFIRM_FROM) void this.updateComplete.then(() => openDialog(this, "bulk-confirm"));
    else void this.#startAction(action, undefined);
  }

  /** One at a time: a double click would start a second run on the server. */
  async #startAction(action: BulkActionName, groupId: string | undefined): Promise<void> {
    const selection = this.#allMatching ? { filter: this.#filter } : { ids: [...this.#selected] };
    await this.oneAtATime(() => this.attempt(async () => {
      const run = await session.api.startBulkAction({ action, ...(groupId ? { groupId } : {}), ...selection });
      this.#run = run;
      this.requestUpdate();
      await this.updateComplete;
      openDialog(this, "bulk-progress");
      await this.#follow(run);
    }));
  }

  /**
   * Follows a run until it ends, then shows its report. Left (a user opened), the page stops looking,
   * and the one made when the user comes back follows the run on (connectedCallback).
   */
  async #follow(started: RestBulkAction): Promise<void> {
    const by = session.me?.id;
    let run = started;
    followed = { run, by };
    const trouble = (text: string | null) => {
      this.#lookTrouble = text;
      this.requestUpdate();
    };
    while (run.status === "running") {
      await new Promise((r) => setTimeout(r, 400));
      if (!this.isConnected) return;
      const polled = await lookAtRun(() => session.api.bulkAction(run.id), trouble, () => this.isConnected).catch((error: unknown) => {
        // A look that failed (the run gone with a restart, the network) is said once, not again at every visit.
        followed = null;
        throw error;
      });
      // Left while the look was on its way: what it says is for the page that follows on (which may be done with the run already).
      if (polled === undefined || !this.isConnected) return;
      // A look sent before a Stop may answer after it: the stopped run stays shown.
      run = this.#run?.id === polled.id && this.#run.status !== "running" ? this.#run : polled;
      this.#run = run;
      followed = { run, by };
      this.requestUpdate();
    }
    followed = null;
    this.#selected.clear();
    this.#allMatching = false;
    this.#filterKey = "";
    void this.#applyRoute();
    // Its report (who was refused, and why) is shown when it ends, even when its dialog was closed meanwhile.
    await this.updateComplete;
    openDialog(this, "bulk-progress");
  }

  /** Stops the run shown; the loop of #follow sees it stopped at its next look. */
  async #stopRun(run: RestBulkAction): Promise<void> {
    this.#stopping = true;
    this.requestUpdate();
    try {
      this.#run = await session.api.cancelBulkAction(run.id);
    } catch (error) {
      // It ended meanwhile (409): its last state comes with the next look.
      if (!(error instanceof ECMConflictError)) this.fail(error);
    } finally {
      this.#stopping = false;
      this.requestUpdate();
    }
  }

  protected override render() {
    const columns = this.#columns;
    const count = this.#count;
    const { first, last } = this.#window.range;
    const rows = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
    const selectedCount = this.#allMatching ? (count ?? 0) : this.#selected.size;
    // Only with a selection is it worth walking the loaded rows (not on every scroll).
    const loadedIds = () => this.#loadedIds();
    const allLoadedSelected = this.#allMatching || (this.#selected.size > 0 && loadedIds().every((id) => this.#selected.has(id)));
    const cols = `36px ${columns.map((c) => COLUMNS[c]!.width).join(" ")}`;
    const unknown = this.#unknownIds();
    // Each filter menu option has its `selected` property set, every option (the "any" ones too), and
    // the group picker its `value`, compared with the page (`live`), not with what was last rendered: the
    // user's pick changes them behind Lit's back, so Back before the pick's own render would have left
    // the pick on show.
    return html`
      <h1 tabindex="-1" id="users-title">Users</h1>
      ${this.message !== null && this.message === this.#notFound?.message && unknown.some(({ id }) => id === this.#notFound?.id) ? nothing : this.renderMessage()}
      ${unknown.map(({ text }) => html`<p class="message warn">${text}</p>`)}
      <div class="toolbar" role="search">
        <input type="search" data-search aria-label="Search users" title="By name or email" placeholder="Search (press /)" maxlength="256" @input=${(e: InputEvent) => this.#onSearch(e)} size="28">
        <select aria-label="Status" @change=${(e: Event) => this.#setParam("enabled", (e.target as HTMLSelectElement).value)}>
          <option value="" .selected=${live(this.#filter.enabled === undefined)}>Enabled or disabled</option>
          <option value="true" .selected=${live(this.#filter.enabled === true)}>Enabled</option>
          <option value="false" .selected=${live(this.#filter.enabled === false)}>Disabled</option>
        </select>
        <label class="row"><input type="checkbox" .checked=${live(this.#filter.lockedOut === true)} @change=${(e: Event) => this.#setParam("lockedOut", (e.target as HTMLInputElement).checked ? "true" : undefined)}> Locked out</label>
        <label class="row"><input type="checkbox" .checked=${live(this.#filter.expired === true)} @change=${(e: Event) => this.#setParam("expired", (e.target as HTMLInputElement).checked ? "true" : undefined)}> Expired</label>
        <select aria-label="Source" @change=${(e: Event) => this.#setParam("source", (e.target as HTMLSelectElement).value)}>
          ${[["", "Any source"], ["local", "Local"], ["directory", "Directory"], ["identity-provider", "Identity provider"], ["builtin", "Built-in"], ...this.#oneSource()].map(
            ([value, label]) => html`<option value=${value!} .selected=${live((this.#filter.source ?? "") === value)}>${label}</option>`,
          )}
        </select>
        ${this.#linkOptions().length === 0 ? nothing : html`<select aria-label="Linked to" @change=${(e: Event) => this.#setParam("linkedTo", (e.target as HTMLSelectElement).value)}>
          ${[["", "Linked to any provider or none"], ...this.#linkOptions()].map(
            ([value, label]) => html`<option value=${value!} .selected=${live((this.#filter.linkedTo ?? "") === value)}>${label}</option>`,
          )}
        </select>`}
        <ecm-group-picker label="Group" placeholder="Any group" .value=${live(this.#filter.groupId ?? "")}
          @group-change=${(e: CustomEvent<RestGroup | null>) => this.#setParam("groupId", e.detail?.id)}></ecm-group-picker>
        <select aria-label="Profile" @change=${(e: Event) => this.#setParam("profileId", (e.target as HTMLSelectElement).value)}>
          <option value="" .selected=${live(this.#filter.profileId === undefined)}>Any profile</option>
          <option value="-1" .selected=${live(this.#filter.profileId === -1)}>No profile</option>
          <option value="0" .selected=${live(this.#filter.profileId === 0)}>Is a profile</option>
          ${this.#profiles.map((p) => html`<option value=${String(p.numericId)} .selected=${live(this.#filter.profileId === p.numericId)}>Profile: ${p.username}</option>`)}
          ${unlistedProfile(this.#filter.profileId, this.#profiles, (id) => html`<option value=${String(id)} .selected=${live(true)}>${this.#unknownProfile(id) ? "Unknown profile" : "Profile:"} #${id}</option>`)}
        </select>
        <span class="grow"></span>
        <details class="menu" @keydown=${closeOnEscape} @focusout=${closeOnLeave} @toggle=${(e: Event) => { this.#columnsOpen = (e.target as HTMLDetailsElement).open; this.requestUpdate(); }}>
          <summary>Columns</summary>
          ${this.#columnsOpen ? html`<div role="group" aria-label="Columns to show">
            ${Object.entries(COLUMNS).map(([key, c]) => html`<label class="row"><input type="checkbox" .checked=${columns.includes(key)} ?disabled=${key === "username"}
              @change=${(e: Event) => this.#setParam("cols", (e.target as HTMLInputElement).checked ? [...columns, key].join(",") : columns.filter((x) => x !== key).join(","))}> ${c.label}</label>`)}
          </div>` : nothing}
        </details>
        <button @click=${() => void this.#export()} ?disabled=${this.#exporting}>${this.#exporting ? "Exporting…" : "Export CSV"}</button>
        <button @click=${() => this.#openNewUser()}>New user…</button>
      </div>
      <p class="status" role="status">${count === 0 && !isUnfiltered(this.#filter) ? this.#noMatch() : html`${count === null ? (this.#failed || this.#countFailed ? "" : "Counting…") : `${count.toLocaleString()} ${count === 1 ? "user" : "users"}`}${this.#filter.search ? html` matching “${this.#filter.search}”` : nothing}`}</p>
      ${selectedCount > 0 || this.#run?.status === "running" ? this.#renderBulkBar(selectedCount, count) : nothing}
      <div class="grid" role="grid" aria-labelledby="users-title" aria-rowcount=${count === null ? -1 : count + 1} aria-colcount=${columns.length + 1} aria-multiselectable="true" ${styled((el) => el.style.setProperty("--cols", cols))}>
        <div class="head" role="row" aria-rowindex="1">
          <div role="columnheader"><input type="checkbox" aria-label="Select all loaded users" .checked=${live(allLoadedSelected)} ?disabled=${!this.#anyLoaded}
            @change=${(e: Event) => { const on = (e.target as HTMLInputElement).checked; this.#allMatching = false; for (const id of loadedIds()) on ? this.#selected.add(id) : this.#selected.delete(id); this.requestUpdate(); }}></div>
          ${columns.map((c) => html`<div role="columnheader" title=${COLUMNS[c]!.label}>${COLUMNS[c]!.label}</div>`)}
        </div>
        <div class="viewport" role="rowgroup" @keydown=${(e: KeyboardEvent) => this.#onKey(e)} @scroll=${() => this.#keepView()}>
          <div class="sizer" role="presentation" ${styled((el) => { el.style.height = `${this.#window.totalHeight}px`; })}>
            ${rows.map((index) => this.#renderRow(index, this.#window.start(index), columns))}
          </div>
        </div>
      </div>
      ${this.#renderDialogs()}`;
  }

  /** An empty result says so, naming the search and whether filters are set: the grid alone would show an empty box. */
  #noMatch(): string {
    const { search, ...rest } = this.#filter;
    const filtered = Object.values(rest).some((v) => v !== undefined);
    if (search === undefined) return "No user matches these filters.";
    return `No user matches “${search}”${filtered ? " with these filters" : ""}.`;
  }

  #renderRow(index: number, start: number, columns: string[]): TemplateResult {
    const user = this.#row(index);
    const focusable = index === this.#active ? "0" : "-1";
    const selected = user !== undefined && (this.#allMatching || this.#selected.has(user.id));
    // One element for the row whether its page is loaded or not: a placeholder replaced by another
    // element would take the focus with it (End onto a row still loading left the keyboard on the body).
    return html`<div class=${user ? "r" : "r placeholder"} role="row" aria-rowindex=${index + 2} aria-selected=${user ? (selected ? "true" : "false") : nothing} data-index=${index} tabindex=${focusable} ${styled((el) => { el.style.transform = `translateY(${start}px)`; })}
        @click=${() => this.#open(user)} @focus=${() => { this.#active = index; }}>${user ? this.#renderCells(user, selected, columns) : html`<div role="gridcell" aria-colspan=${columns.length + 1}>Loading…</div>`}</div>`;
  }

  #renderCells(user: RestUser, selected: boolean, columns: string[]): TemplateResult {
    return html`<div role="gridcell"><input type="checkbox" tabindex="-1" aria-label=${`Select ${user.username}`} .checked=${live(selected)}
          @click=${(e: Event) => e.stopPropagation()} @change=${() => this.#toggle(user)}></div>
        ${columns.map((c) => {
          const content = COLUMNS[c]!.cell(user);
          // Columns narrow to fit the page (never wider than it: the header scrolls with nothing); the whole text on hover.
          return html`<div role="gridcell" title=${typeof content === "string" && content ? content : nothing}>${content}</div>`;
        })}`;
  }

  /** The selection and what to do with it; while a run goes on (its dialog may have been closed), the way back to its progress. */
  #renderBulkBar(selectedCount: number, count: number | null): TemplateResult {
    const run = this.#run?.status === "running" ? this.#run : null;
    return html`<div class="bulkbar" role="region" aria-label="Bulk actions">
      ${selectedCount > 0 ? html`<strong>${this.#allMatching ? `All ${selectedCount.toLocaleString()} matching ${selectedCount === 1 ? "user" : "users"} selected` : `${selectedCount.toLocaleString()} selected`}</strong>
        ${!this.#allMatching && count !== null && count > selectedCount ? html`<button class="link" @click=${() => { this.#allMatching = true; this.requestUpdate(); }}>Select all ${count.toLocaleString()} matching</button>` : nothing}
        <button class="link" @click=${() => { this.#selected.clear(); this.#allMatching = false; this.requestUpdate(); }}>Clear selection</button>` : nothing}
      ${run ? html`<span>${ACTIONS.find((a) => a.action === run.action)?.label.replace("…", "")}: in progress</span>
        <button @click=${() => openDialog(this, "bulk-progress")}>Show progress</button>` : nothing}
      <span class="grow"></span>
      ${selectedCount === 0 ? nothing : !this.#allMatching && selectedCount > SELECTED_MAX
        ? html`<span class="message warn">A bulk action takes at most ${SELECTED_MAX.toLocaleString()} rows picked one by one: select all ${count === null ? "" : `${count.toLocaleString()} `}matching to act on the whole list, or fewer rows.</span>`
        : ACTIONS.map((a) => html`<button class=${a.action === "delete" ? "danger" : ""} ?disabled=${this.busy} @click=${() => this.#askAction(a.action)}>${a.label}</button>`)}
    </div>`;
  }

  #renderDialogs(): TemplateResult {
    const pending = ACTIONS.find((a) => a.action === this.#pendingAction);
    const run = this.#run;
    const n = this.#allMatching ? (this.#count ?? 0) : this.#selected.size;
    const who = `${this.#allMatching ? `all ${n.toLocaleString()} matching` : `${n.toLocaleString()} selected`} ${n === 1 ? "user" : "users"}`;
    return html`
      <dialog id="bulk-confirm" aria-labelledby="bulk-confirm-title">
        <form method="dialog" @submit=${(e: SubmitEvent) => {
          const submitter = e.submitter as HTMLButtonElement | null;
          if (submitter?.value !== "go" || !pending) return;
          void this.#startAction(pending.action, pending.group ? this.#bulkGroup?.id : undefined);
        }}>
          <h2 id="bulk-confirm-title">${pending?.label.replace("…", "")} ${who}</h2>
          ${pending?.group ? html`<div class="field"><label for="bulk-group">Group</label><ecm-group-picker input-id="bulk-group" .value=${this.#bulkGroup?.id ?? ""} .exclude=${this.#guarded}
              @group-change=${(e: CustomEvent<RestGroup | null>) => { this.#bulkGroup = e.detail; this.requestUpdate(); }}></ecm-group-picker></div>` : nothing}
          ${pending?.action === "delete" ? html`<p class="message warn">Deleting cannot be undone.</p>` : nothing}
          ${pending?.action === "disable" ? html`<p>They can no longer log in, and their sessions and API keys stop at once.</p>` : nothing}
          <div class="row"><button value="go" class=${pending?.action === "delete" ? "danger" : "primary"} ?disabled=${this.busy || (pending?.group === true && !this.#bulkGroup)}>${pending?.label.replace("…", "")}</button><button value="cancel" formnovalidate ?autofocus=${!pending?.group}>Cancel</button></div>
        </form>
      </dialog>
      <dialog id="new-user" aria-labelledby="new-user-title">
        <form method="dialog" @submit=${(e: SubmitEvent) => void this.#createUser(e)}>
          <h2 id="new-user-title">New user</h2>
          ${this.#newUserRefusal ? html`<div class="message error" role="alert">${this.#newUserRefusal}</div>` : nothing}
          <label class="field"><span>Username</span><input name="username" required maxlength="64" autocomplete="off" spellcheck="false"></label>
          <label class="field"><span>First name</span><input name="firstName"></label>
          <label class="field"><span>Last name</span><input name="lastName"></label>
          <label class="field"><span>Email</span><input name="email" type="text" inputmode="email" autocomplete="off" spellcheck="false"></label>
          <label class="field"><span>Password (optional: without one, set it later)</span><input name="password" type="password" autocomplete="new-password"></label>
          <label class="row"><input name="changePassword" type="checkbox" checked> Must change the password at the first login</label>
          <div class="row"><button value="create" class="primary" ?disabled=${this.busy}>Create</button><button value="cancel" formnovalidate>Cancel</button></div>
        </form>
      </dialog>
      <dialog id="bulk-progress" aria-labelledby="bulk-progress-title">
        ${run ? html`
          <h2 id="bulk-progress-title">${ACTIONS.find((a) => a.action === run.action)?.label.replace("…", "")}: ${run.status === "running" ? "in progress" : run.status === "done" ? "done" : run.status === "cancelled" ? "stopped" : "failed"}</h2>
          <progress max=${run.total ?? 1} value=${run.total === null ? 0 : run.processed} aria-label="Progress"></progress>
          <p role="status">${run.processed.toLocaleString()} of ${run.total === null ? "…" : run.total.toLocaleString()} processed: ${run.changed.toLocaleString()} changed, ${run.unchanged.toLocaleString()} unchanged, ${run.refused.toLocaleString()} refused.</p>
          ${run.error ? html`<p class="message error">${run.error}</p>` : nothing}
          ${this.#lookTrouble && run.status === "running" ? html`<p class="message warn" role="status">${this.#lookTrouble}</p>` : nothing}
          ${run.report.length ? html`<div class="dialog-list" tabindex="0" role="region" aria-label="Refused users"><table class="plain"><caption class="muted">Refused</caption><thead><tr><th>User</th><th>Reason</th></tr></thead>
            <tbody>${run.report.map((r) => html`<tr><td><span class="name">${r.username}</span></td><td>${r.reason}</td></tr>`)}</tbody></table></div>` : nothing}
          ${run.status === "cancelled" ? html`<p class="muted">Stopped: the users processed before the stop are changed, the others are not.</p>` : nothing}
          <form method="dialog">
            ${run.status === "running" ? html`<button type="button" class="danger" ?disabled=${this.#stopping} @click=${() => void this.#stopRun(run)}>Stop</button>` : nothing}
            <button>Close</button>
          </form>` : nothing}
      </dialog>`;
  }
}

customElements.define("ecm-users", UsersPage);
