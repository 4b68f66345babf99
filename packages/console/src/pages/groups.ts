import { html, nothing } from "lit";
import type { RestGroup } from "ecm-sdk/browser";
import { session } from "../api.js";
import { href, navigate } from "../router.js";
import { FormShown, Page } from "../ui.js";

/** Groups a page: a directory can bring tens of thousands, so the list is read a page at a time. */
const GROUPS_PAGE = 200;

/** The groups, searchable by name (and, from the roles page, those granting a role), in pages; a new group. */
class GroupsPage extends Page {
  #groups: RestGroup[] | null = null;
  /** The search and role #groups answers (null after a refusal): what the "none" line names. */
  #answered: { search: string; role: string } | null = null;
  #next: string | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort: AbortController | null = null;
  /** The history entry the search typed last made, which the rest of that typing replaces. */
  #searchEntry = "";
  /** The search and role of the first page read last (or on its way). */
  #listed: { search: string; role: string } | null = null;
  /** What the New group form's fields held when drawn (nothing): what is typed since is kept when the page is left or the session ends, as the users page's New user. */
  readonly #newGroup = new FormShown();

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load(true);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // A search typed just before leaving would otherwise bring the groups back over the page gone to.
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  get #newGroupForm(): HTMLFormElement | null {
    return this.querySelector<HTMLFormElement>("#new-group");
  }

  protected override firstUpdated(): void {
    const form = this.#newGroupForm!;
    this.#newGroup.take(form);
    // A new group typed when the page was left (or the session ended): back in the form.
    this.restoreUnsaved("groups/new", (edits) => this.#newGroup.restore(form, edits));
  }

  protected override unsavedEdits(): { page: string; edits: Record<string, string> } {
    const form = this.#newGroupForm;
    return { page: "groups/new", edits: form ? this.#newGroup.edits(form) : {} };
  }

  /** As the users list's: a typing is one step of history (its first keystrokes add an entry, the next replace it), so Back returns to the list before it. */
  #onSearch(value: string, role: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      navigate(href("groups", { search: value, role }), location.hash === this.#searchEntry);
      this.#searchEntry = location.hash;
    }, 200);
  }

  /**
   * Another search or role: its list. The same route again (the shell shows the page again once it has
   * checked the session of a reload) reads nothing again — nor clears what the page says meanwhile.
   */
  override routeChanged(): void {
    super.routeChanged();
    const { search, role } = this.#asked();
    if (search !== this.#listed?.search || role !== this.#listed.role) void this.#load(true);
  }

  /** The search and role of the route. */
  #asked(): { search: string; role: string } {
    return { search: this.route.params.get("search") ?? "", role: this.route.params.get("role") ?? "" };
  }

  /** The first page (`fresh`: the search or role changed), or the next one. */
  async #load(fresh: boolean): Promise<void> {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    const { search, role } = this.#asked();
    if (fresh) this.#listed = { search, role };
    const read = await this.attempt(async () => {
      const page = await session.api.groups(search || undefined, { role: role || undefined, max: GROUPS_PAGE, cursor: fresh ? null : this.#next, signal: abort.signal });
      this.#groups = fresh ? page.items : [...(this.#groups ?? []), ...page.items];
      this.#next = page.next;
      this.#answered = { search, role };
    }, () => void this.#load(fresh));
    // A search refused: the groups of the one before would show under it, and More would page on with their cursor.
    if (!read && fresh && abort === this.#abort) {
      this.#groups = [];
      this.#next = null;
      this.#answered = null;
      this.requestUpdate();
    }
  }

  /** Once: a double click would send the group twice, the second refused as a name taken. */
  async #create(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    await this.oneAtATime(() => this.attempt(async () => {
      const { value } = await session.api.createGroup({ name: String(data.get("name")), description: String(data.get("description")) || null });
      // Created: nothing of it is left to keep (the page is left once the navigation is handled, after this change).
      form.reset();
      navigate(href(`groups/${value.id}`));
    }));
  }

  protected override render() {
    const search = this.route.params.get("search") ?? "";
    const role = this.route.params.get("role") ?? "";
    return html`
      <h1 tabindex="-1">Groups</h1>
      ${this.renderMessage()}
      <!-- Above the list (which may be long): its refusal shows in the message just above it. -->
      <h2>New group</h2>
      <form id="new-group" class="row" @submit=${(e: SubmitEvent) => void this.#create(e)}>
        <label for="new-name">Name</label><input id="new-name" name="name" required maxlength="255">
        <label for="new-description">Description</label><input id="new-description" name="description">
        <button class="primary" ?disabled=${this.busy}>Create</button>
      </form>
      <h2>All groups</h2>
      <div class="toolbar" role="search">
        <input type="search" data-search aria-label="Search groups" title="By name" placeholder="Search (press /)" .value=${search}
          @input=${(e: InputEvent) => this.#onSearch((e.target as HTMLInputElement).value, role)}>
        ${role ? html`<span>Granting the role <strong>${role}</strong> <a href=${href("groups", { search })}>(all groups)</a></span>` : nothing}
      </div>
      ${this.#groups === null ? this.renderLoading() : html`
        <table class="plain"><caption class="visually-hidden">Groups</caption>
          <thead><tr><th>Name</th><th>Description</th><th>Kind</th></tr></thead>
          <tbody id="groups-listed">${this.#groups.map((g) => html`<tr><td><a class="name" href=${href(`groups/${g.id}`)}>${g.name}</a></td><td class="long">${g.description ?? ""}</td>
            <td>${g.builtin ? "Built-in" : g.external ? "From a directory" : g.profileUserId > 0 ? "Profile group" : "Local"}</td></tr>`)}</tbody>
        </table>
        ${this.#groups.length === 0 && this.#answered ? html`<p>${this.#none(this.#answered)}</p>` : nothing}
        ${this.#next ? html`<button @click=${() => void this.more("#groups-listed > tr", () => this.#load(false))}>More groups</button>` : nothing}`}`;
  }

  /** An empty list in words: the table alone would show only its header. */
  #none({ search, role }: { search: string; role: string }): string {
    if (role) return `No group${search ? ` matching “${search}”` : ""} grants the role “${role}”.`;
    return search ? `No group matches “${search}”.` : "No groups.";
  }
}

customElements.define("ecm-groups", GroupsPage);
