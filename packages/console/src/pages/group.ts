import { html, nothing } from "lit";
import { ECMPreconditionError, type RestGroup, type RestRole, type RestUser } from "ecm-sdk/browser";
import { session } from "../api.js";
import { href, listHref, navigate } from "../router.js";
import { FormShown, navigateWithNotice, openDialog, Page } from "../ui.js";

const formTexts = (g: RestGroup): Record<string, string> => ({ name: g.name, description: g.description ?? "" });

const MEMBERS_PAGE = 50;

/** One group: name and description (with its version), role mappings, members paged and searchable. */
class GroupPage extends Page {
  #group: RestGroup | null = null;
  #etag: string | null = null;
  /** What each field of the form showed last of the server's (FormShown). */
  readonly #form = new FormShown();
  #granted: RestRole[] = [];
  #available: RestRole[] = [];
  #members: RestUser[] = [];
  #next: string | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort: AbortController | null = null;
  /** How many members a search has, by the server's count (null until it answers): asked beside its first page, never waited for. */
  #count: { search: string; n: number } | null = null;
  #countAbort: AbortController | null = null;
  /** The search #members answers (null while the first members load): what the "none" line names. */
  #searched: string | null = null;
  /** The history entry the member search typed last made, which the rest of that typing replaces. */
  #searchEntry = "";

  get #id(): string {
    return this.route.rest[0]!;
  }

  /** The member search is in the URL, as the users list's: a shared link or Back shows the members it found. */
  get #search(): string {
    return this.route.params.get("search") ?? "";
  }

  protected override unsavedEdits(): { page: string; edits: Record<string, string> } {
    const form = this.#formElement;
    return { page: `groups/${this.#id}`, edits: form && this.#group ? this.#form.edits(form) : {} };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // A search typed just before leaving would otherwise change the URL of the page gone to.
    clearTimeout(this.#timer);
    this.#abort?.abort();
    this.#countAbort?.abort();
  }

  override routeChanged(): void {
    super.routeChanged();
    if (this.#group && this.#searched !== this.#search) void this.#loadMembers(true);
  }

  /** As the groups list's: a typing is one step of history (its first keystrokes add an entry, the next replace it). */
  #onSearch(value: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      navigate(href(`groups/${this.#id}`, { search: value }), location.hash === this.#searchEntry);
      this.#searchEntry = location.hash;
    }, 200);
  }

  async #load(): Promise<void> {
    const found = await this.attempt(async () => {
      const [{ value, etag }, granted, available] = await Promise.all([session.api.group(this.#id), session.api.groupRoles(this.#id), session.api.groupRoles(this.#id, false)]);
      this.#group = value;
      this.#etag = etag;
      this.#granted = granted;
      this.#available = available;
      if (this.isConnected) document.title = `${value.name} · ECM Security`;
      // The fields not being edited show what was read (a rename by another administrator); an edit stays.
      this.requestUpdate();
      await this.updateComplete;
      this.#form.sync(this.#formElement, formTexts(value));
    }, () => void this.#load());
    // No members to ask for of a group that could not be read (an unknown id): its error stays the page's.
    if (found) await this.#loadMembers(true);
    // After the members' read, which clears the page's message.
    const form = this.#formElement;
    if (found && form) this.restoreUnsaved(`groups/${this.#id}`, (edits) => this.#form.restore(form, edits));
  }

  /** Members are the users list filtered by this group: searchable, in keyset pages. */
  async #loadMembers(fresh: boolean): Promise<void> {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    const search = this.#search;
    if (fresh) this.#countMembers(search);
    const read = await this.attempt(async () => {
      const page = await session.api.users({ groupId: this.#id, search: search || undefined }, { max: MEMBERS_PAGE, cursor: fresh ? null : this.#next }, { signal: abort.signal });
      this.#members = fresh ? page.items : [...this.#members, ...page.items];
      this.#next = page.next;
      this.#searched = search;
    }, () => void this.#loadMembers(fresh));
    // A search refused: as the audit log's filter (its members would show under it); the refusal, not "none", is said.
    if (!read && fresh && abort === this.#abort) {
      this.#members = [];
      this.#next = null;
      this.#searched = null;
      this.requestUpdate();
    }
  }

  /**
   * Asks for the count of the members `search` finds, beside their first page. Its failure is said with
   * Try again, which counts again — unless the members' read failed too: theirs is said, whose Try again
   * reads both again.
   */
  #countMembers(search: string): void {
    this.#count = null;
    this.#countAbort?.abort();
    const countAbort = (this.#countAbort = new AbortController());
    session.api.countUsers({ groupId: this.#id, search: search || undefined }, { signal: countAbort.signal }).then(
      (n) => { if (countAbort === this.#countAbort) { this.#count = { search, n }; this.requestUpdate(); } },
      // A count given up (a newer search) says nothing.
      (e) => { if (countAbort === this.#countAbort && this.message?.kind !== "error") this.fail(e, () => this.#countMembers(search)); },
    );
  }

  get #formElement(): HTMLFormElement | null {
    return this.querySelector<HTMLFormElement>("#group-form");
  }

  /**
   * Only the fields edited are sent (one showing an older value is not sent back); one changed on the
   * server too since its field showed it is a conflict. One change at a time, each with its reload: a
   * reload landing after the next change's answer would bring back the older ETag, and a conflict of its own.
   */
  async #save(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const latest = formTexts(this.#group!);
    const edited = (["name", "description"] as const).filter((f) => this.#form.edited(form, f) && this.#form.current(form, f) !== latest[f]);
    if (edited.length === 0) return this.notify("Nothing to save.", "warn");
    const theirs = async () => {
      await this.#load();
      form.reset();
      this.#form.sync(form, formTexts(this.#group!), true);
      this.notify("Someone else changed this group meanwhile: the form now shows their version. Make your change again.", "warn");
    };
    /** Another administrator changed one of the fields edited here since it was shown. */
    const clashes = () => edited.some((f) => this.#form.shown(f) !== formTexts(this.#group!)[f]);
    const text = (f: "name" | "description") => this.#form.current(form, f)!;
    const write = async () => {
      const { value, etag } = await session.api.updateGroup(this.#id, Object.fromEntries(edited.map((f) => [f, f === "description" ? text(f) || null : text(f)])), this.#etag);
      this.#group = value;
      this.#etag = etag;
      this.requestUpdate();
      await this.updateComplete;
      this.#form.sync(form, formTexts(value), true);
      this.notify("Saved.");
    };
    await this.oneAtATime(async () => {
      if (clashes()) return theirs();
      try {
        await write();
      } catch (error) {
        if (!(error instanceof ECMPreconditionError)) return this.fail(error);
        // Changed meanwhile: read again (the edits stay); a change of other fields is no clash, and the edits are sent once more.
        await this.#load();
        if (clashes()) return theirs();
        await write().catch((again: unknown) => (again instanceof ECMPreconditionError ? theirs() : this.fail(again)));
      }
    });
  }

  /** Deletes the group as this page shows it, as a user's page does: one changed meanwhile is read again, and deleting it is asked again. */
  async #delete(g: RestGroup): Promise<void> {
    try {
      await session.api.deleteGroup(this.#id, this.#etag);
      navigateWithNotice(listHref("groups", this.#id), `Deleted the group ${g.name}.`);
    } catch (error) {
      if (!(error instanceof ECMPreconditionError)) return this.fail(error);
      await this.#load();
      if (this.message === null) this.notify(`Someone else changed the group ${g.name} meanwhile: the page shows it as it is now. Delete it again if you still mean to.`, "warn");
    }
  }

  #mapping(role: string, grant: boolean): Promise<void> {
    return this.changeAndReload(() => (grant ? session.api.grantRole(this.#id, role) : session.api.revokeRole(this.#id, role)), () => this.#load(), grant ? `Granted ${role}.` : `Revoked ${role}.`);
  }

  protected override render() {
    const g = this.#group;
    if (!g) return html`<h1 tabindex="-1">Group</h1>${this.renderMessage()}${this.renderLoading()}`;
    // Only a system administrator hands out or takes back system-administrator, and changes a group that
    // grants it in any way (fields, roles, members): the server refuses the others, so they see no control for it.
    const mayChange = session.isSystemAdmin || !this.#granted.some((r) => r.name === "system-administrator");
    // A group a system administrator is in (itself or through its profile) is theirs too: the server lets
    // only a system administrator rename or delete it or change its roles. Its description stays open.
    const ofAdministrators = !session.isSystemAdmin && g.systemAdministratorMember === true;
    // The name is read-only, and says why, where the rest of the form is open (not built-in, not granting system-administrator).
    const nameLocked = ofAdministrators && mayChange && !g.builtin;
    // A group a directory imported: its name and description are the directory's (the server refuses a change).
    const fromDirectory = g.external && !g.builtin;
    const describedBy = nameLocked ? "group-of-administrators" : fromDirectory ? "group-from-directory" : nothing;
    const mayMap = (role: string) => mayChange && !ofAdministrators && (session.isSystemAdmin || role !== "system-administrator");
    // Every account joins the built-in users group: the server grants it no administrator role, and keeps its user role.
    const builtinUsers = g.builtin && g.name === "users";
    const mayGrant = (role: string) => mayMap(role) && !(builtinUsers && (role === "system-administrator" || role === "security-administrator"));
    const mayRevoke = (role: string) => mayMap(role) && !(builtinUsers && role === "user");
    return html`
      <p><a href=${listHref("groups", this.#id)}>← Groups</a></p>
      <h1 tabindex="-1">${g.name}</h1>
      ${this.renderMessage()}
      <form id="group-form" @submit=${(e: SubmitEvent) => void this.#save(e)}>
        <fieldset ?disabled=${g.builtin || !mayChange}>
          <legend class="visually-hidden">Group fields</legend>
          <label class="field"><span>Name</span><input name="name" value=${g.name} required maxlength="255" ?readonly=${nameLocked || fromDirectory} aria-describedby=${describedBy}></label>
          <label class="field"><span>Description</span><input name="description" value=${g.description ?? ""} ?readonly=${fromDirectory} aria-describedby=${fromDirectory ? "group-from-directory" : nothing}></label>
          ${g.builtin ? html`<p class="muted">Built-in groups cannot be renamed or deleted.</p>` : !mayChange ? html`<p class="muted">Only a system administrator may change this group: it grants the system-administrator role.</p>` : html`
            ${nameLocked ? html`<p id="group-of-administrators" class="muted">Only a system administrator may rename or delete this group: a system administrator is a member of it.</p>` : nothing}
            ${fromDirectory ? html`<p id="group-from-directory" class="muted">Its directory decides its name and description: change them there.</p>` : nothing}
            <div class="row">${fromDirectory ? nothing : html`<button class="primary" ?disabled=${this.busy}>Save</button>`}${ofAdministrators ? nothing : html`<button type="button" class="danger" @click=${() => openDialog(this, "delete-group")}>Delete…</button>`}</div>`}
        </fieldset>
      </form>

      <h2>Roles</h2>
      <table class="plain"><thead><tr><th>Role</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${this.#granted.map((r) => html`<tr><td>${r.name}</td><td>${mayRevoke(r.name) ? html`<button ?disabled=${this.busy} @click=${() => void this.#mapping(r.name, false)}>Revoke ${r.name}</button>` : nothing}</td></tr>`)}</tbody>
      </table>
      ${this.#granted.length === 0 ? html`<p>This group grants no role.</p>` : nothing}
      ${!mayChange ? html`<p class="muted">Only a system administrator may change the roles of this group: it grants the system-administrator role.</p>`
        : ofAdministrators ? html`<p class="muted">Only a system administrator may change the roles of this group: a system administrator is a member of it.</p>`
        : builtinUsers ? html`<p class="muted">Every account is in this group: it always grants the user role, and never an administrator role.</p>` : nothing}
      ${this.#available.filter((r) => mayGrant(r.name)).length ? html`<form class="row" @submit=${(e: SubmitEvent) => { e.preventDefault(); void this.#mapping(String(new FormData(e.target as HTMLFormElement).get("role")), true); }}>
        <label for="grant-role">Grant role</label>
        <select id="grant-role" name="role">${this.#available.filter((r) => mayGrant(r.name)).map((r) => html`<option>${r.name}</option>`)}</select>
        <button ?disabled=${this.busy}>Grant</button>
      </form>` : nothing}

      <h2>Members</h2>
      <div class="toolbar" role="search">
        <input type="search" data-search aria-label="Search members" placeholder="Search members (press /)" size="28" .value=${this.#search}
          @input=${(e: InputEvent) => this.#onSearch((e.target as HTMLInputElement).value)}>
        <a href=${href("users", { groupId: g.id, search: this.#search })}>Open in the users table</a>
      </div>
      <p class="status" role="status">${this.#count === null ? "" : `${this.#count.n.toLocaleString()} ${this.#count.n === 1 ? "member" : "members"}${this.#count.search ? ` matching “${this.#count.search}”` : ""}`}</p>
      <table class="plain"><thead><tr><th>Username</th><th>Display name</th><th>Email</th></tr></thead>
        <tbody id="group-members">${this.#members.map((u) => html`<tr><td><a class="name" href=${href(`users/${u.id}`)}>${u.username}</a></td><td class="long">${u.displayName}</td><td class="long">${u.email ?? ""}</td></tr>`)}</tbody>
      </table>
      ${this.#members.length === 0 && this.#searched !== null ? html`<p>${this.#searched ? `No member matches “${this.#searched}”.` : "No members."}</p>` : nothing}
      ${this.#next ? html`<button @click=${() => void this.more("#group-members > tr", () => this.#loadMembers(false))}>More members</button>` : nothing}

      <dialog id="delete-group" aria-labelledby="delete-group-title">
        <form method="dialog" @submit=${(e: SubmitEvent) => {
          if ((e.submitter as HTMLButtonElement | null)?.value !== "go") return;
          void this.#delete(g);
        }}>
          <h2 id="delete-group-title">Delete the group ${g.name}?</h2>
          <p>Its memberships and role mappings go with it.</p>
          <div class="row"><button class="danger" value="go">Delete</button><button value="cancel" autofocus>Cancel</button></div>
        </form>
      </dialog>`;
  }
}

customElements.define("ecm-group", GroupPage);
