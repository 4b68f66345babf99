import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { directive, Directive, PartType, type ElementPart, type PartInfo } from "lit/directive.js";
import { ECMPreconditionError, type RestGroup, type RestUser, type Versioned } from "ecm-sdk/browser";
import { failed, inLabels, keepUnsaved, passing, session, takeUnsaved, type KeptBecause } from "./api.js";
import { navigate, type Route } from "./router.js";

/**
 * Pages render into the light DOM: ARIA id references (labels, descriptions, grids) do not cross
 * shadow roots, and the one stylesheet styles everything.
 */
/** What the page left said of what it did, for the page it went to (navigateWithNotice). */
let pendingNotice: string | null = null;

/**
 * Goes to `target`, whose page says `notice` at its top (“Deleted corp.”): the page left could not —
 * it is gone — and the URL does not carry it, so a reload or Back does not say it again.
 */
export function navigateWithNotice(target: string, notice: string, replace = false): void {
  pendingNotice = notice;
  navigate(target, replace);
}

/** A field of a form that can take the focus. */
const FIELD = "input:not([type=hidden]):enabled, select:enabled, textarea:enabled";

export class Page extends LitElement {
  route!: Route;
  /** The error or notice shown at the top of the page; an error that may pass (the server unreachable a moment) with what Try again does. */
  message: { kind: "error" | "ok" | "warn"; text: string; retry?: () => void } | null = null;
  /** What the page before said it did, shown until this page has something to say. */
  #arrivalNotice: string | null = null;

  /** The focus was last put inside this page (not in the navigation, nor elsewhere), and no click since took it anywhere. */
  #focusHere = false;
  /** What of this page had the focus last: a button disabled while its change runs takes it back once enabled again. */
  #lastFocused: HTMLElement | null = null;
  /** What had it before a dialog took it: the dialog closed, it takes it back (the browser does only for one that was not disabled then). */
  #beforeDialog: HTMLElement | null = null;
  readonly #noteFocus = (event: FocusEvent) => {
    this.#focusHere = this.contains(event.target as Node);
    if (!this.#focusHere) return;
    const target = event.target as HTMLElement;
    if (target.closest("dialog") && !this.#lastFocused?.closest("dialog")) this.#beforeDialog = this.#lastFocused;
    this.#lastFocused = target;
  };
  /** A click on a control of this page keeps it here (the control may have had the focus already: no focusin); on nothing, the focus is the user's to leave there. */
  readonly #noteClick = (event: PointerEvent) => {
    const target = event.target as Element;
    this.#focusHere = this.contains(target) && target.closest("button, a[href], input, select, textarea, summary, [tabindex]") !== null;
  };

  /** Who edits here: the edits the session ends under, or left here, are kept for them (keepUnsaved), not for whoever logs in next. */
  #account = "";
  readonly #keepEdits = (because: KeptBecause) => {
    const unsaved = this.unsavedEdits();
    if (unsaved && Object.keys(unsaved.edits).length > 0) keepUnsaved(this.#account, unsaved.page, unsaved.edits, because);
  };
  readonly #keepEnded = () => this.#keepEdits("ended");
  /**
   * The page is left (a link, Back or Forward, a reload, the tab closed) while the session goes on: its
   * edits are kept, as when the session ends. Once it ended, they were kept already; a logout drops them.
   * Left while a change is on its way (a Save, and the read after it), the form's edits are that change's:
   * they are not kept, or a Save done would come back as edits not saved.
   */
  readonly left = () => {
    if (session.ecm && !this.busy) this.#keepEdits("left");
  };

  /**
   * The edits of this page's form not saved yet, and the page they are of (`users/<id>`): kept when the
   * session ends under them or the page is left, and put back by restoreUnsaved once the same account is
   * on that page again. None on a page with no form to keep.
   */
  protected unsavedEdits(): { page: string; edits: Record<string, string> } | null {
    return null;
  }

  /** The edits kept for `page` when the session ended, put back once (`restore`) and said as not saved yet. */
  restoreUnsaved(page: string, restore: (edits: Record<string, string>) => void): void {
    const kept = session.me ? takeUnsaved(session.me.id, page) : null;
    if (!kept) return;
    restore(kept.edits);
    this.notify(kept.because === "ended" ? "Your changes from before the session ended are back in the form: they are not saved yet." : "Your changes not saved when you left this page are back in the form: they are not saved yet.", "warn");
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#arrivalNotice = pendingNotice;
    pendingNotice = null;
    this.#account = session.me?.id ?? "";
    session.addEventListener("expired", this.#keepEnded);
    window.addEventListener("pagehide", this.left);
    document.addEventListener("focusin", this.#noteFocus);
    document.addEventListener("pointerdown", this.#noteClick, { capture: true });
    // A dialog gives the focus back to what opened it, if that is still there. (`close` does not bubble.)
    this.addEventListener("close", () => this.#keepFocus(), { capture: true });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    session.removeEventListener("expired", this.#keepEnded);
    window.removeEventListener("pagehide", this.left);
    document.removeEventListener("focusin", this.#noteFocus);
    document.removeEventListener("pointerdown", this.#noteClick, { capture: true });
  }

  /**
   * What had the focus went away and the browser put it on the document's body. A button disabled
   * while its change runs (Save, Disable) takes it back once the change is done, where a keyboard
   * user goes on from, and so does one whose change opened a dialog, once the dialog is closed; what
   * is gone — a button of a row or bar drawn anew, the opener of a dialog just closed — leaves it to
   * focusFallback(), not to the top of the document. Looked at once the browser has moved it (after
   * the next frame).
   */
  #keepFocus(): void {
    requestAnimationFrame(() => setTimeout(() => {
      if (!this.#focusHere || !this.isConnected || (document.activeElement !== document.body && document.activeElement !== null)) return;
      const last = this.#lastFocused?.closest("dialog:not([open])") ? this.#beforeDialog : this.#lastFocused;
      const usable = last !== null && last.isConnected && !last.closest("dialog:not([open])") && last.checkVisibility();
      // Still disabled while the change runs: the update that ends it looks again.
      if (usable && this.working && last.matches(":disabled")) return;
      // A button left disabled once done (Add, with no group chosen now): the first field of its form, for the next one.
      const field = usable && last.matches(":disabled") ? last.closest("form")?.querySelector<HTMLElement>(FIELD) : null;
      (usable && !last.matches(":disabled") ? last : field ?? this.#dialogControl() ?? this.focusFallback())?.focus({ preventScroll: true });
    }));
  }

  /**
   * While a dialog is open the page behind it is inert and takes no focus: what the dialog lost (a bulk
   * action's Stop, gone when the run ended) goes to its first control left (Close).
   */
  #dialogControl(): HTMLElement | null {
    return this.querySelector("dialog[open]")?.querySelector<HTMLElement>(`${FIELD}, button:enabled, a[href]`) ?? null;
  }

  /** Where the focus goes when what had it is gone: the page's heading, where a keyboard or screen reader user reads on. */
  protected focusFallback(): HTMLElement | null {
    return this.querySelector<HTMLElement>("h1");
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    this.#keepFocus();
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  /**
   * The shell focuses a new page's heading; a page whose heading is drawn anew once its data is in
   * (“User” while loading, then the user's name) would leave the focus on the body, and a keyboard
   * user at the top of the document: the new heading takes it over.
   */
  protected override update(changed: PropertyValues): void {
    const heading = this.querySelector<HTMLElement>("h1");
    const focused = heading !== null && document.activeElement === heading;
    super.update(changed);
    if (focused && !heading.isConnected) this.querySelector<HTMLElement>("h1")?.focus();
  }

  /** Shows a failure (an ended session goes back to the login page instead); `retry`, for a failure that may pass (passing), is offered as Try again. */
  fail(error: unknown, retry?: () => void): void {
    this.#arrivalNotice = null;
    const text = failed(error, (field) => this.labelOf(field));
    this.message = text ? { kind: "error", text, ...(retry && passing(error) ? { retry } : {}) } : null;
    this.requestUpdate();
  }

  /**
   * The label this page shows a field's control with, if it has one: a control is named as the API names
   * the field, by its path in the request where it is a part of one (`config/scopes`, which the server
   * also writes `config.scopes`); a list of controls (a group mapping) is named so as a whole and said
   * by its legend.
   */
  labelOf(field: string): string | undefined {
    const control = this.querySelector<HTMLInputElement>(`[name="${CSS.escape(field.replaceAll(".", "/"))}"]`);
    const label = control?.labels?.[0];
    // A label that wraps its control names it in its own text (a textarea's text is its value).
    const text = (label ? (label.querySelector("span") ?? label) : control?.querySelector("legend"))?.textContent?.trim();
    return text || undefined;
  }

  /** The user changed what a shown failure was about: it is no longer said. */
  clearError(): void {
    if (this.message?.kind !== "error") return;
    this.message = null;
    this.requestUpdate();
  }

  notify(text: string, kind: "ok" | "warn" = "ok"): void {
    this.#arrivalNotice = null;
    this.message = { kind, text };
    this.requestUpdate();
  }

  /** A change is on its way: its buttons wait, and another is ignored (a double click would send it twice). */
  protected busy = false;

  /** Something the user started runs, its control disabled meanwhile (a change; a page adds its own, such as an export): the focus waits for that control. */
  protected get working(): boolean {
    return this.busy || this.#loadingMore;
  }

  /** A list's next page is on its way (more()). */
  #loadingMore = false;

  /**
   * Reads a list's next page, its "More" button's job; `rows` selects the list's rows. The button
   * keeps the focus while more pages follow; the last page takes it away, and the focus goes on at the
   * first row that page brought (its first link or button; the row itself where it has none), where a
   * keyboard user reads on — not at the heading.
   */
  protected async more(rows: string, load: () => Promise<unknown>): Promise<void> {
    const before = this.querySelectorAll(rows).length;
    this.#loadingMore = true;
    try {
      await load();
    } finally {
      this.#loadingMore = false;
      this.requestUpdate();
    }
    await this.updateComplete;
    // Before #keepFocus looks (a frame later), which would give it to the heading.
    const first = this.querySelectorAll<HTMLElement>(rows)[before];
    if (!first || !this.#focusHere || (document.activeElement !== document.body && document.activeElement !== null)) return;
    const control = first.querySelector<HTMLElement>("a[href], button:enabled");
    if (!control) first.tabIndex = -1;
    (control ?? first).focus();
  }

  /** Runs a change unless another is on its way. */
  protected async oneAtATime(change: () => Promise<unknown>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.requestUpdate();
    try {
      await change();
    } finally {
      this.busy = false;
      this.requestUpdate();
    }
  }

  /**
   * A change made once (oneAtATime), showing its failure; when it succeeded, the page is read again
   * and then says `done` (worked out after the reading where it depends on it).
   */
  protected changeAndReload(action: () => Promise<unknown>, reload: () => Promise<unknown>, done: string | (() => string)): Promise<void> {
    return this.oneAtATime(async () => {
      if (!(await this.attempt(action))) return;
      await reload();
      this.notify(typeof done === "string" ? done : done());
    });
  }

  /**
   * Runs an action, showing its failure; answers whether it succeeded. A read of what the page shows (its
   * user, its group, its list) gives `retry`, the whole read again: a failure that may pass (the server
   * unreachable a moment) offers it as Try again, never a page left with its error alone.
   */
  async attempt(action: () => Promise<unknown>, retry?: () => void): Promise<boolean> {
    try {
      this.message = null;
      await action();
      return true;
    } catch (error) {
      this.fail(error, retry);
      return false;
    } finally {
      this.requestUpdate();
    }
  }

  renderMessage(): TemplateResult | typeof nothing {
    const message = this.message ?? (this.#arrivalNotice === null ? null : { kind: "ok", text: this.#arrivalNotice });
    if (!message) return nothing;
    const retry = this.message?.retry;
    return html`<div class="message ${message.kind}" role=${message.kind === "error" ? "alert" : "status"}>${message.text}${retry ? html` <button type="button" @click=${() => {
      this.message = null;
      retry();
      this.requestUpdate();
    }}>Try again</button>` : nothing}</div>`;
  }

  /** "Loading…" while the page's data is on its way; nothing once that failed (its error, shown above, says why: an unknown id, say). */
  renderLoading(): TemplateResult | typeof nothing {
    return this.message?.kind === "error" ? nothing : html`<p>Loading…</p>`;
  }

  /** Called by the shell when only the query of this page's URL changed. */
  routeChanged(): void {
    this.requestUpdate();
  }
}

/** Whether an account can log in now, in one word — the same on the list and on the user's page; `long` adds until when. */
export function statusBadge(u: RestUser, long = false): TemplateResult {
  const now = new Date();
  if (!u.enabled) return html`<span class="badge off">Disabled</span>`;
  if (u.lockedOutUntil && new Date(u.lockedOutUntil) > now) return html`<span class="badge off">Locked out${long ? ` until ${when(u.lockedOutUntil)}` : ""}</span>`;
  if (u.validTo && new Date(u.validTo) < now) return html`<span class="badge off">Expired${long ? ` since ${when(u.validTo)}` : ""}</span>`;
  if (u.validFrom && new Date(u.validFrom) > now) return html`<span class="badge off">Not yet valid${long ? ` until ${when(u.validFrom)}` : ""}</span>`;
  return html`<span class="badge ok">Active</span>`;
}

/**
 * The groups granting system-administrator, which only a system administrator hands out (a picker
 * offers them to no one else): none for a system administrator. Few groups grant it: read whole.
 */
export async function groupsOnlySystemAdministratorsHandOut(): Promise<RestGroup[]> {
  return session.isSystemAdmin ? [] : session.api.groups(undefined, { role: "system-administrator" });
}

/**
 * Whether only a system administrator may change a directory or an identity provider — the server's
 * rule (domain/role-rules.ts): a local group its settings fill grants system-administrator (one of
 * `granting`, groupsOnlySystemAdministratorsHandOut()), or one of its users holds that role — a
 * directory's own users, or the users linked to a provider. False at once for a system administrator.
 * (A group the directory brought that grants it, still without members, is not seen here: the server's
 * refusal says it.)
 */
export async function onlySystemAdministrator(granting: readonly RestGroup[], groupIds: readonly string[], through: { directory: string } | { provider: string }): Promise<boolean> {
  if (session.isSystemAdmin) return false;
  const named = new Set(groupIds.map((id) => id.toLowerCase()));
  if (granting.some((g) => named.has(g.id.toLowerCase()))) return true;
  const holders = await Promise.all(
    granting.map(async (g) => {
      if ("directory" in through) return (await session.api.users({ source: `directory:${through.directory}`, groupId: g.id }, { max: 1 })).items.length > 0;
      // Linked, not only made by it: the members of a granting group (few) and their links.
      const members = await session.api.users({ groupId: g.id }, { max: 1000 });
      return members.items.some((u) => u.federatedIdentities?.some((f) => f.alias === through.provider));
    }),
  );
  return holders.some(Boolean);
}

/** A date-time for people, in their locale; "" for none. */
export function when(time: string | Date | null | undefined): string {
  return time ? new Date(time).toLocaleString() : "";
}

/** A time the text names, or null when it names none ("garbage" in a URL): never an Invalid Date, whose toISOString throws. */
export function parseTime(text: string | null | undefined): Date | null {
  if (!text) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `<input type=datetime-local>` value of an ISO time (local), and back; "" for none or no time. */
export function toLocalInput(iso: string | null | undefined): string {
  const d = parseTime(iso);
  if (!d) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

export function fromLocalInput(value: string): string | null {
  return parseTime(value)?.toISOString() ?? null;
}

/**
 * The `autocomplete` of a field holding another system's secret (a directory's bind password, an
 * identity provider's client secret): a browser that keeps the console's password would fill it in
 * there — and a Save would send it on — unless the field says it is another password.
 */
export const SECRET_AUTOCOMPLETE = "new-password";

/**
 * Opens a `<dialog>` of the page by id, as a modal (focus moves into it; Escape closes it). A dialog that
 * asks before a change that cannot be undone (a delete) opens on its Cancel (`autofocus`): Enter pressed
 * twice from the button that opened it changes nothing.
 */
export function openDialog(root: ParentNode, id: string): HTMLDialogElement {
  const dialog = root.querySelector<HTMLDialogElement>(`#${id}`)!;
  if (!dialog.open) dialog.showModal();
  return dialog;
}

/** Sets styles from script (CSSOM), where a `style` attribute would be refused by the Content-Security-Policy. */
class Styled extends Directive {
  constructor(part: PartInfo) {
    super(part);
    if (part.type !== PartType.ELEMENT) throw new Error("styled() goes on an element");
  }
  override update(part: ElementPart, [apply]: [(el: HTMLElement) => void]) {
    apply(part.element as HTMLElement);
    return nothing;
  }
  render(_apply: (el: HTMLElement) => void) {
    return nothing;
  }
}
export const styled = directive(Styled);

const SOURCES: Record<string, string> = { builtin: "Built-in", local: "Local", directory: "Directory", "identity-provider": "Identity provider" };

/** Where an account comes from, in words (the directory's or provider's name when it has one). */
export function sourceText(u: RestUser): string {
  const source = u.source ?? { type: u.builtin ? "builtin" : u.dn ? "directory" : "local", name: null };
  return `${SOURCES[source.type] ?? source.type}${source.name ? `: ${source.name}` : ""}`;
}

/**
 * An audit event's details, for a row of their own across the table: before and after side by side
 * when the event has them; the rest as it is. They take the row's width and ask none of their own
 * (`.event-details`), so a long value wraps there and never narrows the event's other columns.
 */
export function auditDetails(details: Record<string, unknown>): TemplateResult {
  const { before, after, ...rest } = details as { before?: Record<string, unknown>; after?: Record<string, unknown> };
  const fields = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  return html`<div class="event-details">${fields.length ? html`<table class="plain changes"><thead><tr><th>Field</th><th>Before</th><th>After</th></tr></thead>
    <tbody>${fields.map((f) => html`<tr><td>${f}</td><td>${JSON.stringify(before?.[f] ?? null)}</td><td>${JSON.stringify(after?.[f] ?? null)}</td></tr>`)}</tbody></table>` : nothing}
    ${Object.keys(rest).length ? html`<code>${JSON.stringify(rest)}</code>` : nothing}</div>`;
}

/**
 * The version of the settings object a page edits (a directory, an identity provider): read with the one
 * the page shows, sent with its Save and its Delete (If-Match). One refused for another administrator's
 * change (412) changes nothing, says which fields they changed and offers Reload, which draws the form
 * anew (`formKey`, for lit's `keyed`) from the version read then.
 */
export class SettingsVersion<T extends object> {
  #etag: string | null = null;
  /** A Save or a Delete was refused so: Reload is offered. */
  stale = false;
  formKey = 0;
  /** What each field of the form showed when it was drawn from the version read (FormShown): what is edited since. */
  readonly form = new FormShown();
  /** The form and the version it was last drawn from. */
  #drawn: { form: HTMLFormElement; etag: string | null } | null = null;
  /** Edits kept when the session ended whose fields the form does not show yet (a provider's endpoints, once “Given here” is put back). */
  #pending: Record<string, string> = {};

  constructor(
    /** What the page edits, in words ("directory"). */
    readonly what: string,
    readonly readOne: (listed: T) => Promise<Versioned<T>>,
  ) {}

  /** The list, the one `shown` picks (if any) read by itself for its version and put in its place. */
  async read(list: Promise<T[]>, shown: (x: T) => boolean): Promise<{ items: T[]; one: T | undefined }> {
    const items = await list;
    const listed = items.find(shown);
    const one = listed ? await this.readOne(listed) : null;
    this.#etag = one?.etag ?? null;
    return { items: one ? items.map((x) => (x === listed ? one.value : x)) : items, one: one?.value };
  }

  /**
   * Called once the page has drawn (its `updated`): a form drawn anew (a first read, a Reload) or from
   * another version (saved) shows the server's values, and so does a field it shows for the first time;
   * edits kept for `key` when the session ended come back into it, each once its field is there.
   */
  drawn(page: Page, form: HTMLFormElement | null, key: string): void {
    if (!form) return;
    const fresh = this.#drawn?.form !== form || this.#drawn.etag !== this.#etag;
    this.form.take(form, fresh);
    if (fresh) {
      this.#drawn = { form, etag: this.#etag };
      this.#pending = {};
      page.restoreUnsaved(key, (edits) => (this.#pending = edits));
    }
    if (Object.keys(this.#pending).length > 0) this.#pending = this.form.restore(form, this.#pending);
  }

  /** The edits of the form shown (none when there is none: not drawn yet, or the page went back to its list). */
  edits(): Record<string, string> {
    return this.#drawn?.form.isConnected ? this.form.edits(this.#drawn.form) : {};
  }

  /** Saves what `page` shows of `shown` with `save(etag)`: its answer, or null when refused for a change made meanwhile (`page` says so). */
  save<R>(page: Page, shown: T, save: (etag: string | null) => Promise<R>): Promise<R | null> {
    return this.#write(page, shown, save, "saved", " Reload shows their version; then make your changes again.");
  }

  /** Deletes `shown` as `page` shows it with `remove(etag)`: whether it was, refused for a change made meanwhile (`page` says so). */
  async remove(page: Page, shown: T, remove: (etag: string | null) => Promise<unknown>): Promise<boolean> {
    return (await this.#write(page, shown, async (etag) => { await remove(etag); return true; }, "deleted", " Reload shows their version.")) ?? false;
  }

  async #write<R>(page: Page, shown: T, write: (etag: string | null) => Promise<R>, done: string, then: string): Promise<R | null> {
    let written: R;
    try {
      written = await write(this.#etag);
    } catch (error) {
      if (!(error instanceof ECMPreconditionError)) throw error;
      const labels = changedLabels(page, shown, (await this.readOne(shown)).value);
      this.stale = true;
      page.message = { kind: "error", text: `Someone else changed this ${this.what} since this page read it: nothing was ${done}.${labels.length ? ` They changed ${new Intl.ListFormat("en").format(labels)}.` : ""}${then}` };
      return null;
    }
    this.stale = false;
    return written;
  }

  /** Reload's button, once a Save was refused: `reload` reads `page`'s data again; then its form is drawn anew. */
  renderReload(page: Page, reload: () => Promise<unknown>): TemplateResult | typeof nothing {
    const click = async () => {
      await reload();
      this.stale = false;
      this.formKey++;
      page.requestUpdate();
    };
    return this.stale ? html`<p><button type="button" @click=${() => void click()}>Reload</button></p>` : nothing;
  }
}

/**
 * The labels, as `page` shows them, of the fields that differ between two versions of a settings object: a
 * field of a nested object by its path (`syncPeriodSeconds/full`, `config/scopes`), as its control is named;
 * a field the page has no control for is left out.
 */
function changedLabels(page: Page, before: object, after: object): string[] {
  const flat = (o: object) => Object.entries(o).flatMap(([k, v]): [string, string][] =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.entries(v).map(([sub, x]) => [`${k}/${sub}`, JSON.stringify(x)]) : [[k, JSON.stringify(v)]]);
  const was = new Map(flat(before));
  return flat(after).filter(([k, v]) => was.get(k) !== v).map(([k]) => page.labelOf(k)).filter((label): label is string => label !== undefined);
}

/** What a connection test shows: whether it passed, in words, and each of its steps. */
export interface TestOutcome {
  ok: boolean;
  message: string;
  steps: readonly { ok: boolean; message: string }[];
}

/**
 * Runs a connection test (a directory's, an identity provider's): the server's answer, or, when the test
 * got none (the server unreachable, a refusal), an outcome saying why — shown in the test's own section,
 * where the Test button puts the focus and its user looks, not at the top of a long form, out of view.
 * Null for a test given up (aborted).
 */
export async function runTest<T extends TestOutcome>(ask: () => Promise<T>, page: Page): Promise<T | TestOutcome | null> {
  try {
    return await ask();
  } catch (error) {
    const message = failed(error, (field) => page.labelOf(field));
    return message ? { ok: false, message, steps: [] } : null;
  }
}

/** What a connection test found: its verdict, then each step it took, in words — the fields it names by their labels on `page`. */
export function testOutcome(t: TestOutcome, page: Page): TemplateResult {
  const words = (text: string) => inLabels(text, (field) => page.labelOf(field));
  return html`<p class="message ${t.ok ? "ok" : "error"}">${words(t.message)}</p>
    <ul>${t.steps.map((s) => html`<li>${s.ok ? "✓" : "✗"} ${words(s.message)}</li>`)}</ul>`;
}

type FieldControl = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
const controlValue = (el: FieldControl): string => (el instanceof HTMLInputElement && el.type === "checkbox" ? String(el.checked) : el.value);

/**
 * The edit form of a versioned object (a user, a group), field by field: the value each field showed
 * when it last took the server's. A field whose value differs from that is being edited. When the
 * object is read again (after another change on the page), the fields not being edited take the new
 * values and the edits stay; an edit of a field that someone else changed since it was shown is a
 * conflict, not an overwrite, and a field not edited is never sent with a value it showed before.
 */
export class FormShown {
  /** Per field: the server's value it last took (as text), and what its control then held (a control may not hold every text: an input drops line breaks). */
  #shown = new Map<string, { server: string; control: string }>();

  /**
   * Brings the fields to `latest` (field name → the value as its control holds it; a checkbox
   * "true"/"false"), but those being edited (all when `force`: the form was saved or reloaded);
   * `taken` hears of each field that took its value.
   */
  sync(form: HTMLFormElement | null, latest: Record<string, string>, force = false, taken?: (name: string) => void): void {
    if (!form) return;
    for (const [name, value] of Object.entries(latest)) {
      const el = form.elements.namedItem(name) as FieldControl | null;
      if (!el || !("value" in el)) continue;
      if (!force && this.edited(form, name)) continue;
      if (el instanceof HTMLInputElement && el.type === "checkbox") el.checked = value === "true";
      else el.value = value;
      this.#shown.set(name, { server: value, control: controlValue(el) });
      taken?.(name);
    }
  }

  /**
   * The form as drawn shows the server's values (a form drawn straight from an object, a directory's):
   * each named field takes what it holds then. A secret (a password field) is no field here: its edit is
   * never kept anywhere.
   */
  take(form: HTMLFormElement, fresh = true): void {
    // Not fresh: the fields shown since (a choice's) take theirs, and the others keep what they showed.
    if (fresh) this.#shown.clear();
    for (const el of form.elements) {
      const name = (el as FieldControl).name;
      if (!name || this.#shown.has(name) || (el instanceof HTMLInputElement && el.type === "password")) continue;
      const value = this.current(form, name);
      if (value !== undefined) this.#shown.set(name, { server: value, control: value });
    }
  }

  /** The server's value a field last took. */
  shown(name: string): string | undefined {
    return this.#shown.get(name)?.server;
  }

  /** The value the field's control holds now. */
  current(form: HTMLFormElement, name: string): string | undefined {
    const el = form.elements.namedItem(name) as FieldControl | null;
    return el && "value" in el ? controlValue(el) : undefined;
  }

  /** Whether the field's control holds another value than when it took the server's (the user changed it). */
  edited(form: HTMLFormElement, name: string): boolean {
    const now = this.current(form, name);
    const shown = this.#shown.get(name);
    return now !== undefined && shown !== undefined && now !== shown.control;
  }

  /** The fields being edited, each with what its control holds. */
  edits(form: HTMLFormElement): Record<string, string> {
    return Object.fromEntries([...this.#shown.keys()].filter((name) => this.edited(form, name)).map((name) => [name, this.current(form, name)!]));
  }

  /**
   * Puts `edits` (edits()) back in their controls: edited again, against what the fields show of the
   * server's. Answers those whose field the form does not show.
   */
  restore(form: HTMLFormElement, edits: Record<string, string>): Record<string, string> {
    const left: Record<string, string> = {};
    for (const [name, value] of Object.entries(edits)) {
      const el = form.elements.namedItem(name) as FieldControl | RadioNodeList | null;
      if (!el || !("value" in el) || !this.#shown.has(name)) {
        left[name] = value;
        continue;
      }
      if (el instanceof RadioNodeList) {
        // A choice the page draws the rest of the form by (a provider's endpoints): it hears of it as of a click.
        const radio = [...el].find((r): r is HTMLInputElement => r instanceof HTMLInputElement && r.value === value);
        if (radio) radio.checked = true;
        radio?.dispatchEvent(new Event("change", { bubbles: true }));
      } else if (el instanceof HTMLInputElement && el.type === "checkbox") el.checked = value === "true";
      else el.value = value;
    }
    return left;
  }
}

/** Profiles offered in a menu (the first by username); one in use past them is still shown, by its numeric id. */
export const PROFILES_SHOWN = 1000;

/** `render(id)` for a profile (> 0) that `listed` does not hold, so a menu always shows the one in use. */
export function unlistedProfile<T>(id: number | undefined, listed: readonly RestUser[], render: (id: number) => T): T | typeof nothing {
  return id !== undefined && id > 0 && !listed.some((p) => p.numericId === id) ? render(id) : nothing;
}
