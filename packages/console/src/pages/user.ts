import { html, nothing, type TemplateResult } from "lit";
import { ECMPreconditionError, ECMValidationError, isGuid, type ECMLockout, type RestAuditEvent, type RestEffectiveRole, type RestGroup, type RestUser, type RestUserChanges } from "ecm-sdk/browser";
import { serverWords, session } from "../api.js";
import "../group-picker.js";
import { href, listHref } from "../router.js";
import { auditDetails, FormShown, fromLocalInput, groupsOnlySystemAdministratorsHandOut, navigateWithNotice, openDialog, Page, PROFILES_SHOWN, sourceText, statusBadge, toLocalInput, unlistedProfile, when } from "../ui.js";

type Field = keyof RestUserChanges;

/**
 * The editable fields, in form order, with how each is shown and read back. `directory`: a directory's
 * user gets it from its directory (a sync writes it, the server refusing it here; or, for its password's
 * expiry, the directory keeps the password), as it gets whether it is enabled and its password.
 */
const FIELDS: { name: Field; label: string; kind: "text" | "email" | "textarea" | "time" | "check" | "profile"; directory?: true }[] = [
  { name: "loginName", label: "Login name", kind: "text", directory: true },
  { name: "firstName", label: "First name", kind: "text", directory: true },
  { name: "lastName", label: "Last name", kind: "text", directory: true },
  { name: "displayName", label: "Display name", kind: "text", directory: true },
  { name: "email", label: "Email", kind: "email", directory: true },
  { name: "description", label: "Description", kind: "textarea" },
  { name: "profileId", label: "Profile", kind: "profile" },
  { name: "validFrom", label: "Valid from", kind: "time" },
  { name: "validTo", label: "Valid to", kind: "time" },
  { name: "changePassword", label: "Must change password at next login", kind: "check", directory: true },
  { name: "passwordNeverExpires", label: "Password never expires", kind: "check", directory: true },
];

/** The fields about the account's password here: only an account with one changes them (but to turn one off). */
const PASSWORD_FIELDS: ReadonlySet<Field> = new Set(["changePassword", "passwordNeverExpires"]);

/** What an emptied field becomes when saved. */
const DEFAULTS: Partial<Record<Field, string>> = { loginName: "Empty: the username", displayName: "Empty: first and last name, else the username" };

/** A field's value as its control holds it (a checkbox "true"/"false"). */
function controlText(f: (typeof FIELDS)[number], u: RestUser): string {
  const value = u[f.name];
  if (f.kind === "check") return String(value === true);
  if (f.kind === "time") return toLocalInput(value as string | null);
  return String(value ?? "");
}

/** What a control's text stands for, as the API takes it. */
function fieldValue(f: (typeof FIELDS)[number], text: string): unknown {
  if (f.kind === "check") return text === "true";
  if (f.kind === "time") return fromLocalInput(text);
  if (f.kind === "profile") return Number(text);
  // Emptied, a login or display name goes back to its default (the server fills it in); another text is cleared.
  return text || null;
}

const formTexts = (u: RestUser): Record<string, string> => Object.fromEntries(FIELDS.map((f) => [f.name, controlText(f, u)]));

/**
 * A password of the reset dialog typed in: what was said of that field (the server's refusal) is taken
 * back, and so is "they differ" (the first may be the one corrected): the next Set password checks again.
 */
const retyped = (event: Event): void => {
  const input = event.target as HTMLInputElement;
  input.setCustomValidity("");
  input.form!.querySelector<HTMLInputElement>("[name=confirm]")!.setCustomValidity("");
};

const show = (value: unknown): string => (value === null || value === undefined || value === "" ? "—" : typeof value === "boolean" ? (value ? "yes" : "no") : String(value));

/** One user: every field (saved with its version: a conflict shows what changed), status actions, groups, roles and their origin, source, audit events. */
class UserPage extends Page {
  #user: RestUser | null = null;
  #etag: string | null = null;
  #roles: RestEffectiveRole[] = [];
  #groups: RestGroup[] = [];
  /** Groups granting system-administrator, when the caller may not change their members. */
  #guarded = new Set<string>();
  /** Profiles that hold system-administrator (through such a group): a system administrator's to assign. */
  #guardedProfiles = new Set<string>();
  /** A profile a system administrator is assigned to (through such a group): its groups are theirs, so it is a system administrator's to change. */
  #administratorsProfile = false;
  /** The user's own memberships (the others come from its profile). */
  #direct = new Set<string>();
  #profiles: RestUser[] = [];
  /** The group chosen in "Add to group", until it is added. */
  #adding: RestGroup | null = null;
  #events: RestAuditEvent[] = [];
  #eventsNext: string | null = null;
  /** Which read of the events is the latest: an earlier one answering later is dropped. */
  #eventsAsked = 0;
  #lockout: ECMLockout | null = null;
  /** On a 412: the changes tried and the user as it is now. */
  #conflict: { mine: RestUserChanges; opened: RestUser; theirs: RestUser; theirsEtag: string | null } | null = null;
  /** What each field of the form showed last of the server's (FormShown). */
  readonly #form = new FormShown();
  /** Per field, the server's value it showed last (not its control's text: a time has seconds, a text line breaks). */
  readonly #openedValues = new Map<string, unknown>();

  get #id(): string {
    return this.route.rest[0]!;
  }

  protected override unsavedEdits(): { page: string; edits: Record<string, string> } {
    const form = this.#formElement;
    return { page: `users/${this.#id}`, edits: form && this.#user ? this.#form.edits(form) : {} };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  /** Reads the user and what the page shows of it; answers whether that worked (a failure is shown). */
  async #load(): Promise<boolean> {
    return this.attempt(async () => {
      const api = session.api;
      // An id that is no guid (a link typed by hand) names no user: the server says so, in the words it has
      // for an unknown guid, before the calls that take a guid only refuse it with a programmer's TypeError.
      if (!isGuid(this.#id)) await api.user(this.#id);
      const asked = ++this.#eventsAsked;
      const [{ value, etag }, roles, groups, guarded, profiles, events, lockout] = await Promise.all([
        api.user(this.#id),
        api.effectiveRoles(this.#id),
        api.userGroups(this.#id),
        // Who is in a group that grants system-administrator is a system administrator's to change.
        groupsOnlySystemAdministratorsHandOut(),
        api.users({ profileId: 0 }, { max: PROFILES_SHOWN }),
        api.auditEvents({ target: this.#id }, { max: 20 }),
        session.security.lockout(this.#id),
      ]);
      // A profile in such a group would hand the role on: not offered either (few groups grant it). Read
      // before any of the page's state is set: a render in between would find half of it.
      const inGuarded = await Promise.all(guarded.map((g) => api.users({ profileId: 0, groupId: g.id }, { max: 200 })));
      const guardedProfiles = new Set(inGuarded.flatMap((page) => page.items.map((p) => p.id)));
      const assignedAdministrators = value.profileId === 0 ? await Promise.all(guarded.map((g) => api.users({ profileId: value.numericId, groupId: g.id }, { max: 1 }))) : [];
      this.#administratorsProfile = assignedAdministrators.some((page) => page.items.length > 0);
      this.#user = value;
      this.#etag = etag;
      this.#roles = roles;
      this.#groups = groups;
      this.#guarded = new Set(guarded.map((g) => g.id));
      this.#guardedProfiles = guardedProfiles;
      this.#profiles = profiles.items;
      if (asked === this.#eventsAsked) [this.#events, this.#eventsNext] = [events.items, events.next];
      this.#lockout = lockout;
      // With a profile, the list holds its groups too: the user's own are asked for apart.
      this.#direct = new Set((value.profileId > 0 ? await api.userGroups(this.#id, { direct: true }) : groups).map((g) => g.id));
      if (this.isConnected) document.title = `${value.username} · ECM Security`;
      // The fields not being edited show what was read; an edit stays, measured against what its field showed.
      this.requestUpdate();
      await this.updateComplete;
      this.#sync(value);
      const form = this.#formElement;
      if (form) this.restoreUnsaved(`users/${this.#id}`, (edits) => this.#form.restore(form, edits));
    }, () => void this.#load());
  }

  get #formElement(): HTMLFormElement | null {
    return this.querySelector<HTMLFormElement>("#user-form");
  }

  /** The user as the form showed it before the edits: what "When you opened it" says in a conflict. */
  #opened(): RestUser {
    return { ...this.#user!, ...Object.fromEntries(this.#openedValues) } as RestUser;
  }

  /** The fields not being edited (all when `force`) show `user`; what each took is kept for #opened. */
  #sync(user: RestUser, force = false): void {
    this.#form.sync(this.#formElement, formTexts(user), force, (name) => this.#openedValues.set(name, user[name as Field]));
  }

  /** The user's directory decides its names, email, whether it is enabled, and its password. */
  get #fromDirectory(): boolean {
    return this.#user?.source?.type === "directory";
  }

  /** A system administrator's account is for system administrators only; the server refuses the rest anyway. */
  get #mayEdit(): boolean {
    return session.isSystemAdmin || (!this.#roles.some((r) => r.name === "system-administrator") && !this.#administratorsProfile);
  }

  /** The fields the user edited (only those: a field showing an older value is not sent back). */
  #changesOf(form: HTMLFormElement): RestUserChanges {
    const user = this.#user!;
    const changes: Record<string, unknown> = {};
    for (const f of FIELDS) {
      if ((f.directory && this.#fromDirectory) || !this.#form.edited(form, f.name)) continue;
      const text = this.#form.current(form, f.name)!;
      if (text !== controlText(f, user)) changes[f.name] = fieldValue(f, text);
    }
    return changes as RestUserChanges;
  }

  async #save(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const changes = this.#changesOf(event.target as HTMLFormElement);
    if (Object.keys(changes).length === 0) return this.notify("Nothing to save.", "warn");
    // Changed on the server since its field showed it (read again after another change on this page).
    if (this.#clashes(changes, this.#user!)) return this.#openConflict(changes, this.#opened(), { value: this.#user!, etag: this.#etag });
    await this.#write(changes, this.#etag, "Saved.", true);
  }

  /** Undo: every field shows the user as last read. */
  #undo(): void {
    this.#formElement?.reset();
    this.#sync(this.#user!, true);
    this.clearError();
  }

  /**
   * Writes changes based on `etag`; a newer version on the server opens the conflict dialog — but for a
   * save of the form that someone else's change does not touch (they changed other fields, as on a
   * group's page): the form takes their change, and the edits are sent once more over it. One at a
   * time: a second with the same ETag would meet its own conflict.
   */
  async #write(changes: RestUserChanges, etag: string | null, done = "Saved.", fromForm = false): Promise<void> {
    return this.oneAtATime(async () => {
      this.message = null;
      try {
        await this.#send(changes, etag, done, fromForm);
      } catch (error) {
        if (!(error instanceof ECMPreconditionError)) return this.fail(error);
        const opened = this.#opened();
        const { value, etag: theirsEtag } = await session.api.user(this.#id);
        const theirs = FIELDS.filter((f) => !(f.name in changes) && this.#form.shown(f.name) !== controlText(f, value)).map((f) => f.label);
        if (fromForm && !this.#clashes(changes, value)) {
          this.#user = value;
          this.#etag = theirsEtag;
          this.requestUpdate();
          await this.updateComplete;
          this.#sync(value);
          const kept = theirs.length ? `Someone else changed ${new Intl.ListFormat("en").format(theirs)} meanwhile` : "Someone else changed this user meanwhile, not the fields you edited";
          try {
            return await this.#send(changes, theirsEtag, `${done} ${kept}: their change stays, and the form shows it.`, fromForm);
          } catch (again) {
            if (!(again instanceof ECMPreconditionError)) return this.fail(again);
            return this.#openConflict(changes, opened, await session.api.user(this.#id));
          }
        }
        await this.#openConflict(changes, opened, { value, etag: theirsEtag });
      }
    });
  }

  /** Sends changes based on `etag`, then shows the user saved and says `done`. */
  async #send(changes: RestUserChanges, etag: string | null, done: string, fromForm: boolean): Promise<void> {
    const { value, etag: next } = await session.api.updateUser(this.#id, changes, etag);
    this.#user = value;
    this.#etag = next;
    this.#conflict = null;
    this.requestUpdate();
    await this.updateComplete;
    // Saved from the form: every field now shows what was saved. Another change (Disable) keeps the edits.
    this.#sync(value, fromForm);
    // Another profile gives other groups and roles: the page reads them again (a failure to is what it says then).
    if (!("profileId" in changes)) this.#refreshEvents();
    else if (!(await this.#load())) return;
    this.notify(done);
  }

  /** Whether one of the fields changed here was changed on the server (`user`) too since its field showed it. */
  #clashes(changes: RestUserChanges, user: RestUser): boolean {
    return FIELDS.some((f) => f.name in changes && this.#form.shown(f.name) !== controlText(f, user));
  }

  async #openConflict(mine: RestUserChanges, opened: RestUser, { value, etag }: { value: RestUser; etag: string | null }): Promise<void> {
    this.#conflict = { mine, opened, theirs: value, theirsEtag: etag };
    this.requestUpdate();
    await this.updateComplete;
    openDialog(this, "conflict");
  }

  /** Reads the user's events again (after a change); a failure offers Try again, which reads them once more. */
  #refreshEvents(): void {
    const asked = ++this.#eventsAsked;
    session.api.auditEvents({ target: this.#id }, { max: 20 }).then((p) => {
      if (asked !== this.#eventsAsked) return;
      [this.#events, this.#eventsNext] = [p.items, p.next];
      this.requestUpdate();
    }, (e) => { if (asked === this.#eventsAsked) this.fail(e, () => this.#refreshEvents()); });
  }

  async #reloadAfterConflict(): Promise<void> {
    const conflict = this.#conflict!;
    this.#user = conflict.theirs;
    this.#etag = conflict.theirsEtag;
    this.#conflict = null;
    this.requestUpdate();
    await this.updateComplete;
    this.#formElement?.reset();
    this.#sync(conflict.theirs, true);
    this.notify("Reloaded: the form shows the current version.", "warn");
  }

  /** Closes the conflict dialog first: the choice re-renders it. */
  #closeConflict(then: () => Promise<void>): void {
    this.querySelector<HTMLDialogElement>("#conflict")?.close();
    void then();
  }

  async #resetPassword(event: SubmitEvent): Promise<void> {
    const form = event.target as HTMLFormElement;
    if ((event.submitter as HTMLButtonElement | null)?.value !== "go") return;
    // The dialog stays open until the server took the password: a refused one is said there, as typed.
    event.preventDefault();
    const data = new FormData(form);
    const password = form.querySelector<HTMLInputElement>("[name=password]")!;
    if (data.get("password") !== data.get("confirm")) {
      form.querySelector<HTMLInputElement>("[name=confirm]")!.setCustomValidity("The passwords differ.");
      form.reportValidity();
      return;
    }
    try {
      await session.api.resetPassword(this.#id, String(data.get("password")), data.get("temporary") === "on");
    } catch (error) {
      if (!(error instanceof ECMValidationError)) {
        form.closest("dialog")!.close();
        form.reset();
        this.fail(error);
        return;
      }
      password.setCustomValidity(serverWords(error));
      form.reportValidity();
      return;
    }
    form.closest("dialog")!.close();
    form.reset();
    // The reset made a new version of the user (and may have set its password change): read again, so
    // that the next save is not taken for a conflict with it.
    if (await this.#load()) this.notify("The password was set; the user's sessions were ended.");
  }

  /** Deletes the user as this page shows it: one changed meanwhile is read again, and deleting it is asked again. */
  async #delete(u: RestUser): Promise<void> {
    try {
      await session.api.deleteUser(this.#id, this.#etag);
      navigateWithNotice(listHref("users", this.#id), `Deleted ${u.username}.`);
    } catch (error) {
      if (!(error instanceof ECMPreconditionError)) return this.fail(error);
      if (await this.#load()) this.notify(`Someone else changed ${u.username} meanwhile: the page shows it as it is now. Delete it again if you still mean to.`, "warn");
    }
  }

  #act(action: () => Promise<unknown>, done: string | (() => string)): Promise<void> {
    return this.changeAndReload(action, () => this.#load(), done);
  }

  /** Ends the user's own membership; the group stays when the profile gives it too, and the notice says so. */
  #leave(g: RestGroup): Promise<void> {
    return this.#act(() => session.api.removeFromGroup(this.#id, g.id), () => (this.#groups.some((x) => x.id === g.id) ? `${g.name} stays: the profile gives it.` : `Removed from ${g.name}.`));
  }

  protected override render() {
    const u = this.#user;
    if (!u) return html`<h1 tabindex="-1">User</h1>${this.renderMessage()}${this.renderLoading()}`;
    const lockout = this.#lockout!;
    // The account's lockout spares the addresses it knows: one of them (the user's own, say) may be locked out on its own.
    const anyLockout = lockout.lockedOutUntil !== null || lockout.failedLogins > 0 || lockout.addresses.length > 0;
    // The account's status says nothing of these: the user is refused from them, and may be from its own.
    const lockedAddresses = lockout.addresses.filter((a) => a.lockedOutUntil !== null).length;
    const editable = this.#mayEdit;
    const local = !this.#fromDirectory;
    // The account this console acts from: one click would end this session and lock its administrator out.
    // Its password is changed on My account, with the current one (the server refuses a reset of it).
    const own = session.me?.id === u.id;
    // A password of this store: not a directory's user, nor a service account (keys only), nor one an identity provider made (it logs in there).
    const hasOwnPassword = local && !u.serviceAccount && u.source?.type !== "identity-provider";
    return html`
      <p><a href=${listHref("users", this.#id)}>← Users</a></p>
      <h1 tabindex="-1"><bdi>${u.displayName}</bdi> <span class="muted">(<bdi>${u.username}</bdi>)</span></h1>
      ${this.renderMessage()}
      <p class="row">
        ${statusBadge(u, true)}
        ${lockedAddresses > 0 ? html`<span class="badge off">Locked out at ${lockedAddresses} address${lockedAddresses === 1 ? "" : "es"}</span>` : nothing}
        ${u.builtin ? html`<span class="badge">Built-in</span>` : nothing}
      </p>
      ${editable ? html`<div class="toolbar">
        ${u.builtin || !local || (own && u.enabled) ? nothing : html`<button ?disabled=${this.busy} @click=${() => void this.#write({ enabled: !u.enabled }, this.#etag, u.enabled ? "Disabled; the user's sessions were ended." : "Enabled.")}>${u.enabled ? "Disable (lock)" : "Enable (unlock)"}</button>`}
        ${anyLockout ? html`<button ?disabled=${this.busy} @click=${() => void this.#act(() => session.api.clearLockout(this.#id), "The lockout was cleared.")}>Clear lockout</button>` : nothing}
        ${hasOwnPassword && !own ? html`<button @click=${() => openDialog(this, "reset-password")}>Reset password…</button>` : nothing}
        ${hasOwnPassword && own ? html`<a href=${href("me")}>Change your password on My account</a>` : nothing}
        ${u.builtin || own ? nothing : html`<button class="danger" @click=${() => openDialog(this, "delete-user")}>Delete…</button>`}
      </div>` : html`<p class="message warn">${this.#administratorsProfile ? "Only a system administrator may change this profile: a system administrator is assigned to it and takes over its groups." : "Only a system administrator may change this account."}</p>`}
      ${anyLockout ? this.#renderLockout(lockout) : nothing}

      <h2>Account</h2>
      <form id="user-form" @submit=${(e: SubmitEvent) => void this.#save(e)} @input=${() => this.clearError()}>
        <fieldset ?disabled=${!editable} class="form-grid">
          <legend class="visually-hidden">Fields of ${u.username}</legend>
          <label class="field"><span>Username</span><input value=${u.username} readonly></label>
          ${FIELDS.map((f) => PASSWORD_FIELDS.has(f.name) ? this.#renderField(f, u, hasOwnPassword || u[f.name] === true, local ? "no-password" : "directory-fields") : this.#renderField(f, u, local || !f.directory))}
        </fieldset>
        ${local && !hasOwnPassword ? html`<p id="no-password" class="muted">This account has no password here (${u.serviceAccount ? "a service account uses API keys" : "it logs in through its identity provider"}): nothing to change or let expire.</p>` : nothing}
        ${local ? nothing : html`<p id="directory-fields" class="muted">${u.source?.name ? `The directory ${u.source.name}` : "The user's directory"} decides the login name, names, email, whether the password must be changed or expires, whether the user is enabled, and the password: change them there. The description, profile and validity are kept here.</p>`}
        ${editable ? html`<div class="row"><button class="primary" ?disabled=${this.busy}>Save</button><button type="button" @click=${() => this.#undo()}>Undo changes</button></div>` : nothing}
      </form>

      <h2>Source</h2>
      <p>${sourceText(u)}
        ${u.dn ? html`<br><span class="muted">DN</span> <code>${u.dn}</code>` : nothing}
        ${u.federatedIdentities?.length ? html`<br><span class="muted">Linked identity providers:</span> ${u.federatedIdentities.map((f) => f.displayName).join(", ")}` : nothing}</p>

      <h2>Groups</h2>
      ${this.#renderGroups(editable)}

      <h2>Effective roles</h2>
      ${this.#roles.length === 0 ? html`<p>Holds no role: roles come from the groups a user is in and those of its profile.</p>` : html`<table class="plain"><thead><tr><th>Role</th><th>Granted by</th></tr></thead>
        <tbody>${this.#roles.map((r) => html`<tr><td><span class="name">${r.name}</span></td><td class="long">${r.grantedBy.map((g, i) => html`${i ? ", " : ""}<a href=${href(`groups/${g.groupId}`)}>${g.group}</a>${g.viaProfile ? " (through the profile)" : ""}`)}</td></tr>`)}</tbody>
      </table>`}

      <h2>Audit events</h2>
      <!-- An event's details in a row of their own, the table's width: beside the event, a long value squeezed its time and action to a letter a line. -->
      <table class="plain events"><thead><tr><th>Time</th><th>Action</th><th>By</th></tr></thead>
        <tbody>${this.#events.map((e) => html`<tr><td>${when(e.time)}</td><td>${e.action}</td><td><span class="name">${e.actor ?? ""}</span></td></tr>
          ${e.details ? html`<tr><td colspan="3">${auditDetails(e.details)}</td></tr>` : nothing}`)}</tbody>
      </table>
      ${this.#events.length === 0 ? html`<p>No events about this user (events older than the audit log keeps are gone).</p>` : nothing}
      ${this.#eventsNext ? html`<p><a href=${href("audit", { target: this.#id })}>All events of this user</a></p>` : nothing}
      ${this.#renderDialogs(u)}`;
  }

  #renderLockout(l: ECMLockout): TemplateResult {
    return html`
      <h2>Lockout after failed logins</h2>
      ${l.lockedOutUntil ? html`<p>Every address the account does not know is locked out until ${when(l.lockedOutUntil)}.</p>` : nothing}
      ${l.failedLogins > 0 ? html`<p>${l.failedLogins} failed login${l.failedLogins === 1 ? "" : "s"} in a row from addresses the account does not know.</p>` : nothing}
      ${l.addresses.length ? html`<table class="plain">
        <thead><tr><th>Address</th><th>Locked out until</th><th>Failed logins in a row</th><th>Last login from it</th></tr></thead>
        <tbody>${l.addresses.map((a) => html`<tr><td><span class="name">${a.address}</span></td><td>${when(a.lockedOutUntil) || "—"}</td><td>${a.failedLogins}</td><td>${when(a.lastLoginAt) || "—"}</td></tr>`)}</tbody>
      </table>` : nothing}`;
  }

  /** A field's label and control; one the caller may not change here is read-only, and says where it is decided. */
  #renderField(f: (typeof FIELDS)[number], u: RestUser, changeable: boolean, why = "directory-fields"): TemplateResult {
    const value = u[f.name];
    const id = `f-${f.name}`;
    const note = changeable ? nothing : why;
    let control: TemplateResult;
    switch (f.kind) {
      case "check":
        control = html`<input id=${id} name=${f.name} type="checkbox" ?checked=${value === true} ?disabled=${!changeable} aria-describedby=${note}>`;
        break;
      case "textarea":
        control = html`<textarea id=${id} name=${f.name} rows="2">${value ?? ""}</textarea>`;
        break;
      case "time":
        control = html`<input id=${id} name=${f.name} type="datetime-local" value=${toLocalInput(value as string | null)}>`;
        break;
      case "profile":
        control = html`<select id=${id} name=${f.name}>
          <option value="-1" ?selected=${value === -1}>No profile</option>
          <option value="0" ?selected=${value === 0}>This user is a profile</option>
          ${this.#profiles.filter((p) => p.id !== u.id && (!this.#guardedProfiles.has(p.id) || value === p.numericId)).map((p) => html`<option value=${String(p.numericId)} ?selected=${value === p.numericId}>${p.username}</option>`)}
          ${unlistedProfile(value as number, this.#profiles, (id) => html`<option value=${String(id)} selected>Profile #${id} (past the first ${PROFILES_SHOWN.toLocaleString()} profiles)</option>`)}
        </select>`;
        break;
      case "email":
        // Text, not type="email": that field turns a domain such as außendienst.de into its ASCII form
        // (which would be saved with any other change) and refuses a name part such as jürgen@. The server checks it.
        control = html`<input id=${id} name=${f.name} type="text" inputmode="email" autocomplete="off" spellcheck="false" value=${(value as string | null) ?? ""} ?readonly=${!changeable} aria-describedby=${note}>`;
        break;
      default:
        control = html`<input id=${id} name=${f.name} type="text" value=${(value as string | null) ?? ""} placeholder=${DEFAULTS[f.name] ?? nothing} ?readonly=${!changeable} aria-describedby=${note}>`;
    }
    return html`<div class="field"><label for=${id}>${f.label}</label>${control}</div>`;
  }

  #renderGroups(editable: boolean): TemplateResult {
    const unoffered = new Set([...this.#groups.map((g) => g.id), ...this.#guarded]);
    return html`
      ${this.#groups.length === 0 ? html`<p>In no group.</p>` : html`<table class="plain"><thead><tr><th>Group</th><th>Membership</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${this.#groups.map((g) => {
          const inherited = !this.#direct.has(g.id);
          // A membership a directory's sync made changes in the directory (the server refuses it here).
          const removable = !inherited && g.syncedBy === undefined && !this.#guarded.has(g.id);
          // One a provider's group mapping made may be removed; the provider's next login of the user decides again.
          const membership =
            inherited ? "through the profile"
            : g.syncedBy !== undefined ? `from the directory ${g.syncedBy}`
            : g.mappedBy !== undefined ? `from the identity provider ${g.mappedBy} (at each login)`
            : "direct";
          return html`<tr><td class="long"><a href=${href(`groups/${g.id}`)}>${g.name}</a></td><td>${membership}</td>
            <td class="long">${editable && removable ? html`<button ?disabled=${this.busy} @click=${() => void this.#leave(g)}>Remove from ${g.name}</button>` : nothing}</td></tr>`;
        })}</tbody>
      </table>`}
      ${editable ? html`<form class="row" @submit=${(e: SubmitEvent) => {
          e.preventDefault();
          const group = this.#adding;
          if (!group || this.busy) return;
          this.#adding = null;
          void this.#act(() => session.api.addToGroup(this.#id, group.id), `Added to ${group.name}.`);
        }}>
        <label for="add-group">Add to group</label>
        <ecm-group-picker input-id="add-group" .value=${this.#adding?.id ?? ""} .exclude=${unoffered}
          @group-change=${(e: CustomEvent<RestGroup | null>) => { this.#adding = e.detail; this.requestUpdate(); }}></ecm-group-picker>
        <button ?disabled=${!this.#adding || this.busy}>Add</button>
      </form>` : nothing}`;
  }

  #renderDialogs(u: RestUser): TemplateResult {
    const c = this.#conflict;
    return html`
      <dialog id="conflict" aria-labelledby="conflict-title">
        ${c ? html`
          <h2 id="conflict-title">Someone else changed this user</h2>
          <p>The user was changed after you opened it. Here is what differs:</p>
          <table class="plain diff"><thead><tr><th>Field</th><th>When you opened it</th><th>Now</th><th>Your change</th></tr></thead>
            <tbody>${FIELDS.filter((f) => f.name in c.mine || c.opened[f.name] !== c.theirs[f.name]).map((f) => html`<tr>
              <td>${f.label}</td><td class="long">${show(c.opened[f.name])}</td><td class=${c.opened[f.name] !== c.theirs[f.name] ? "long changed" : "long"}>${show(c.theirs[f.name])}</td><td class="long">${f.name in c.mine ? show(c.mine[f.name]) : "—"}</td></tr>`)}
              ${c.opened.enabled !== c.theirs.enabled || "enabled" in c.mine ? html`<tr><td>Enabled</td><td>${show(c.opened.enabled)}</td><td class="changed">${show(c.theirs.enabled)}</td><td>${"enabled" in c.mine ? show(c.mine.enabled) : "—"}</td></tr>` : nothing}
            </tbody></table>
          <div class="row">
            <button class="primary" @click=${() => this.#closeConflict(() => this.#reloadAfterConflict())}>Reload (discard my changes)</button>
            <button @click=${() => this.#closeConflict(() => this.#write(c.mine, c.theirsEtag, "Saved.", true))}>Save my changes over theirs</button>
            <!-- Reload and Save each undo someone's change for good: the dialog opens on the choice that undoes nothing. -->
            <button autofocus @click=${() => this.#closeConflict(async () => {})}>Keep editing</button>
          </div>` : nothing}
      </dialog>
      <dialog id="reset-password" aria-labelledby="reset-title">
        <form method="dialog" @submit=${(e: SubmitEvent) => void this.#resetPassword(e)}>
          <h2 id="reset-title">Reset the password of ${u.username}</h2>
          <label class="field"><span>New password</span><input name="password" type="password" autocomplete="new-password" required @input=${retyped}></label>
          <label class="field"><span>Repeat it</span><input name="confirm" type="password" autocomplete="new-password" required @input=${retyped}></label>
          <label class="row"><input name="temporary" type="checkbox" checked> The user must change it at the next login</label>
          <div class="row"><button class="primary" value="go">Set password</button><button value="cancel" formnovalidate>Cancel</button></div>
        </form>
      </dialog>
      <dialog id="delete-user" aria-labelledby="delete-title">
        <form method="dialog" @submit=${(e: SubmitEvent) => {
          if ((e.submitter as HTMLButtonElement | null)?.value !== "go") return;
          void this.#delete(u);
        }}>
          <h2 id="delete-title">Delete ${u.username}?</h2>
          <p>The account, its memberships and its sessions are removed. This cannot be undone.</p>
          <div class="row"><button class="danger" value="go">Delete</button><button value="cancel" autofocus>Cancel</button></div>
        </form>
      </dialog>`;
  }
}

customElements.define("ecm-user", UserPage);
