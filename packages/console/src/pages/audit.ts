import { html, nothing } from "lit";
import type { RestAuditEvent, RestAuditFilter } from "ecm-sdk/browser";
import { session } from "../api.js";
import { href, navigate } from "../router.js";
import { auditDetails, fromLocalInput, Page, parseTime, toLocalInput, when } from "../ui.js";

const PAGE = 50;

/**
 * Which event a row's button is for, as its name says it: every row has a "Show details", and a list of
 * the page's buttons would read them all alike. Its number makes it one (a user added to two groups at
 * once has two events of one action, target and second).
 */
const eventName = (e: RestAuditEvent): string => `event ${e.id} (${e.action}${e.targetName ? ` of ${e.targetName}` : ""})`;

const FILTERS: { name: keyof RestAuditFilter; label: string; type?: string }[] = [
  { name: "actor", label: "Actor (username)" },
  { name: "target", label: "Target (id or name)" },
  { name: "action", label: "Action" },
  { name: "from", label: "From", type: "datetime-local" },
  { name: "to", label: "Until", type: "datetime-local" },
];

/** The audit log, newest first: filters in the URL, keyset pages, the before and after of every change. */
class AuditPage extends Page {
  #events: RestAuditEvent[] = [];
  #next: string | null = null;
  #loading = false;
  #abort: AbortController | null = null;
  #open = new Set<number>();
  /** The URL's parameters of the events shown or on their way. */
  #listed: string | null = null;
  /** The action names the server records (the Action filter takes a whole one): suggested as it is typed. */
  #actions: string[] = [];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load(true);
  }

  /**
   * The suggestions, read with the first events read and after one that failed: a failure of their own is
   * not said (the events' read says the server's state, with its Try again, which this would replace).
   */
  #readActions(): void {
    session.api.auditActions().then((actions) => { this.#actions = actions; this.requestUpdate(); }, () => undefined);
  }

  override routeChanged(): void {
    // The same route again (the shell shows the page again once it has checked a reload's session): nothing
    // is read again, and what is typed in the form meanwhile stays.
    if (this.route.params.toString() === this.#listed) return super.routeChanged();
    void this.#load(true);
    super.routeChanged();
    // The form shows the new route's filter (Back, a link), not what was chosen or typed under the old one:
    // its controls' defaults follow the route, and a control the user changed takes its default only at a reset.
    void this.updateComplete.then(() => this.querySelector<HTMLFormElement>("form[role=search]")?.reset());
  }

  /** The time filters of the URL that name no time (a link typed by hand): left out of the filter, and said. */
  get #badTimes(): string[] {
    return FILTERS.filter((f) => f.type && this.route.params.get(f.name) && !parseTime(this.route.params.get(f.name))).map((f) => f.label);
  }

  get #filter(): RestAuditFilter {
    const p = this.route.params;
    const filter: RestAuditFilter = {};
    for (const f of FILTERS) {
      const value = p.get(f.name);
      if (!value) continue;
      // A time is sent as the form shows it: one without a zone (typed in a link) is this browser's local time, as JavaScript reads it.
      const time = f.type ? parseTime(value) : undefined;
      if (time !== null) (filter as Record<string, string>)[f.name] = time ? time.toISOString() : value;
    }
    const outcome = p.get("outcome");
    if (outcome === "success" || outcome === "failure") filter.outcome = outcome;
    return filter;
  }

  async #load(fresh: boolean): Promise<void> {
    // A new filter (or Back) while the previous one's events are on their way: those would land after
    // these, and show under the new filter.
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    if (fresh) this.#listed = this.route.params.toString();
    this.#loading = true;
    const read = await this.attempt(async () => {
      const page = await session.api.auditEvents(this.#filter, { max: PAGE, cursor: fresh ? null : this.#next }, { signal: abort.signal });
      this.#events = fresh ? page.items : [...this.#events, ...page.items];
      this.#next = page.next;
    }, () => void this.#load(fresh));
    if (read && this.#actions.length === 0) this.#readActions();
    if (abort !== this.#abort) return;
    // A filter refused: the events of the one before would show under it, and More would page on with their cursor.
    if (!read && fresh) {
      this.#events = [];
      this.#next = null;
    }
    this.#loading = false;
    this.requestUpdate();
  }

  #apply(event: SubmitEvent): void {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const params: Record<string, string | undefined> = {};
    for (const f of FILTERS) {
      const v = String(data.get(f.name) ?? "");
      params[f.name] = f.type ? (fromLocalInput(v) ?? undefined) : v || undefined;
    }
    params.outcome = String(data.get("outcome") ?? "") || undefined;
    navigate(href("audit", params));
  }

  protected override render() {
    const p = this.route.params;
    return html`
      <h1 tabindex="-1">Audit log</h1>
      ${this.renderMessage()}
      ${this.#badTimes.map((label) => html`<p class="message warn">“${label}” in the address is no time: the events are not filtered by it.</p>`)}
      <form class="toolbar" role="search" aria-label="Filter the audit log" @submit=${(e: SubmitEvent) => this.#apply(e)}>
        ${FILTERS.map((f) => html`<label class="row">${f.label} <input name=${f.name} type=${f.type ?? "text"} ?data-search=${f.name === "target"}
          list=${f.name === "action" ? "audit-actions" : nothing} value=${f.type ? toLocalInput(p.get(f.name)) : (p.get(f.name) ?? "")}></label>`)}
        <datalist id="audit-actions">${this.#actions.map((a) => html`<option value=${a}></option>`)}</datalist>
        <label class="row">Outcome <select name="outcome">
          <option value="">Any</option><option ?selected=${p.get("outcome") === "success"}>success</option><option ?selected=${p.get("outcome") === "failure"}>failure</option>
        </select></label>
        <button class="primary">Filter</button>
      </form>
      <table class="plain events"><caption class="visually-hidden">Audit events, newest first</caption>
        <thead><tr><th>Time</th><th>Action</th><th>Actor</th><th>Target</th><th>Outcome</th><th>Source</th><th>Details</th></tr></thead>
        <tbody id="audit-events">${this.#events.map((e) => html`<tr>
          <td>${when(e.time)}</td><td>${e.action}</td><td><span class="name">${e.actor ?? ""}</span></td>
          <td><span class="name">${e.targetType === "user" && e.targetId ? html`<a href=${href(`users/${e.targetId}`)}>${e.targetName}</a>` : e.targetType === "group" && e.targetId ? html`<a href=${href(`groups/${e.targetId}`)}>${e.targetName}</a>` : e.targetName ?? ""}</span></td>
          <td>${e.outcome}</td><td><span class="name">${e.sourceAddress ?? ""}</span></td>
          <td>${e.details ? html`<button class="link" aria-expanded=${this.#open.has(e.id) ? "true" : "false"} @click=${() => { this.#open.has(e.id) ? this.#open.delete(e.id) : this.#open.add(e.id); this.requestUpdate(); }}>${this.#open.has(e.id) ? "Hide" : "Show"} details<span class="visually-hidden"> of ${eventName(e)}</span></button>` : ""}</td></tr>
          ${e.details && this.#open.has(e.id) ? html`<tr><td colspan="7">${auditDetails(e.details)}</td></tr>` : nothing}`)}</tbody>
      </table>
      ${this.#next ? html`<button ?disabled=${this.#loading} @click=${() => void this.more("#audit-events > tr", () => this.#load(false))}>More events</button>` : this.#events.length === 0 && !this.#loading && this.message?.kind !== "error" ? this.#noMatch() : nothing}`;
  }

  /** "No events match.", and when the Action typed is no action's whole name, the names that hold it, each a link filtering by it. */
  #noMatch() {
    const typed = this.#filter.action;
    if (!typed || this.#actions.length === 0 || this.#actions.includes(typed)) return html`<p>No events match.</p>`;
    const holding = this.#actions.filter((a) => a.toLowerCase().includes(typed.toLowerCase()));
    const link = (action: string) => html`<a href=${href("audit", { ...Object.fromEntries(this.route.params), action })}>${action}</a>`;
    return html`<p>No events match: “${typed}” is no action’s whole name. ${holding.length > 0 ? "Names holding it:" : "The actions are:"}
      ${(holding.length > 0 ? holding : this.#actions).map((a, i) => html`${i > 0 ? ", " : ""}${link(a)}`)}.</p>`;
  }
}

customElements.define("ecm-audit", AuditPage);
