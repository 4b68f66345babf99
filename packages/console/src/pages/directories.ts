import { html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { keyed } from "lit/directives/keyed.js";
import { ECMNotFoundError, type DirectoryConfigToTest, type DirectoryFields, type ECMDirectory, type ECMDirectorySync, type ECMDirectoryTest } from "ecm-sdk/browser";
import { failed, inLabels, lookAtRun, session } from "../api.js";
import { href } from "../router.js";
import "../group-rows.js";
import { groupsOnlySystemAdministratorsHandOut, navigateWithNotice, onlySystemAdministrator, openDialog, Page, runTest, SECRET_AUTOCOMPLETE, SettingsVersion, testOutcome, when, type TestOutcome } from "../ui.js";

/** How often a running sync's progress is read again. */
const POLL_MS = 1_000;

const VENDORS = [
  ["OTHER", "OpenLDAP or another LDAP directory"],
  ["ACTIVE_DIRECTORY", "Active Directory"],
] as const;

/** The user fields a directory's attributes fill, as the form labels them. */
const ATTRIBUTES = [
  ["username", "Username attribute"],
  ["loginName", "Login name attribute"],
  ["firstName", "First name attribute"],
  ["lastName", "Last name attribute"],
  ["email", "Email attribute"],
  ["displayName", "Display name attribute"],
  ["uniqueId", "Unique id attribute (never changes: objectGUID, entryUUID)"],
] as const;

const STATES: Record<ECMDirectorySync["state"], string> = { running: "Running", succeeded: "Finished", failed: "Failed", interrupted: "Interrupted (the server stopped)" };

const COUNTS = [
  ["seen", "Entries read"],
  ["created", "Users created"],
  ["updated", "Users updated"],
  ["disabled", "Users disabled"],
  ["unchanged", "Unchanged"],
  ["failed", "Entries with a problem"],
  ["joined", "Joined a group"],
  ["left", "Left a group"],
] as const;

/**
 * A run keeps its first problems only: the heading says so when more entries had one than are listed.
 * (Warnings are listed too but not counted, so the count is of entries, not of all the problems.)
 */
function problemsTitle(run: ECMDirectorySync): string {
  const listed = run.problems.length;
  return run.failed > listed ? `Problems: the first ${listed.toLocaleString()} (${run.failed.toLocaleString()} entries had one)` : "Problems";
}

/**
 * Directories (external user storage: Active Directory, OpenLDAP …): the list; one directory's
 * settings (the bind password is write-only), its connection test, its syncs with their progress and
 * report, and its removal.
 */
class DirectoriesPage extends Page {
  #directories: ECMDirectory[] | null = null;
  /** The last test's outcome: the server's answer, or why it got none. */
  #test: ECMDirectoryTest | TestOutcome | null = null;
  #testing = false;
  /** Which test is the latest: one started before a save (or another test) does not show its answer. */
  #tests = 0;
  /** The directory's current or last sync; null before the first; undefined until read (a synced directory is not "never synced" meanwhile). */
  #run: ECMDirectorySync | null | undefined;
  #poll: ReturnType<typeof setTimeout> | undefined;
  /** Which read of the run is the latest: one started earlier (before a sync was started) neither shows its answer nor looks again. */
  #runReads = 0;
  /** Why the last look at the running sync failed, while the page looks again (lookAtRun); null once one answered. */
  #lookTrouble: string | null = null;
  /** Why the last sync asked for did not start, said beside its buttons (the page's notice is at its top, out of view there). */
  #syncRefused: string | null = null;
  /** Only a system administrator may change or delete the directory shown (null until known); anyone here may test and sync it. */
  #locked: boolean | null = null;
  /** The groups a mapping is not offered: those only a system administrator hands out. */
  #guarded: ReadonlySet<string> = new Set();
  /** The version of the directory shown, sent with a Save: one another administrator changed meanwhile is refused (412), not written over. */
  readonly #version = new SettingsVersion<ECMDirectory>("directory", (d) => session.api.directory(d.id));

  get #id(): string | undefined {
    return this.route.rest[0];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  protected override unsavedEdits(): { page: string; edits: Record<string, string> } {
    return { page: `directories/${this.#id ?? ""}`, edits: this.#version.edits() };
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    this.#version.drawn(this, this.querySelector<HTMLFormElement>("#directory-form"), `directories/${this.#id ?? ""}`);
  }

  /** A sync runs, its buttons disabled meanwhile: the one pressed takes the focus back once it is over. */
  protected override get working(): boolean {
    return super.working || this.#run?.state === "running";
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#poll);
  }

  async #load(): Promise<void> {
    await this.attempt(async () => {
      const [{ items, one: d }, granting] = await Promise.all([this.#version.read(session.security.directories(), (x) => x.id === this.#id), groupsOnlySystemAdministratorsHandOut()]);
      this.#guarded = new Set(granting.map((g) => g.id));
      this.#directories = items;
      this.#locked = d ? await onlySystemAdministrator(granting, d.groupMappings.map((m) => m.localGroupId), { directory: d.id }) : false;
    }, () => void this.#load());
    const id = this.#id;
    // A directory that never synced has no run to read (its GET would be a 404).
    if (id && id !== "new" && this.#directories?.find((d) => d.id === id)?.lastSyncStartedAt) await this.#readRun(id);
  }

  /** Reads the sync's state; while it runs, again after a moment (as long as the page is open). */
  async #readRun(id: string): Promise<void> {
    clearTimeout(this.#poll);
    const read = ++this.#runReads;
    const latest = () => read === this.#runReads && this.isConnected;
    const trouble = (text: string | null) => {
      if (!latest()) return;
      this.#lookTrouble = text;
      this.requestUpdate();
    };
    try {
      const run = await lookAtRun(() => session.security.directorySync(id), trouble, latest);
      if (run === undefined || !latest()) return;
      this.#run = run;
    } catch (error) {
      if (!latest()) return;
      if (!(error instanceof ECMNotFoundError)) return this.fail(error);
      this.#run = null;
    }
    this.requestUpdate();
    if (this.#run?.state === "running" && this.isConnected) this.#poll = setTimeout(() => void this.#readRun(id), POLL_MS);
  }

  /** The form's fields. On a change, empty optional fields clear their value; the empty password field keeps the stored password. */
  #fieldsOf(form: HTMLFormElement): DirectoryFields & { name: string; connectionUrl: string; baseDn: string } {
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    const orNull = (name: string) => text(name) || null;
    const lines = (name: string) => text(name).split("\n").map((l) => l.trim()).filter(Boolean);
    const password = String(data.get("bindPassword") ?? "");
    /** A field's value when changed from what the page showed; undefined when left as shown. */
    const typed = (name: string) => {
      const input = form.querySelector<HTMLInputElement>(`[name="${name}"]`)!;
      const value = input.value.trim();
      return value === input.dataset.shown ? undefined : value;
    };
    // Left as shown, a filter or attribute stays the server's to decide: the new kind's default after a change of Kind where it was the former kind's.
    const filter = (name: "userFilter" | "groupFilter") => {
      const value = typed(name);
      return value === undefined ? {} : { [name]: value || null };
    };
    return {
      name: text("name"),
      vendor: text("vendor") as ECMDirectory["vendor"],
      connectionUrl: text("connectionUrl"),
      startTls: data.get("startTls") === "on",
      caCertificate: orNull("caCertificate"),
      allowUnencryptedPasswords: data.get("allowUnencryptedPasswords") === "on",
      baseDn: text("baseDn"),
      bindDn: orNull("bindDn"),
      ...(password ? { bindPassword: password } : data.get("removePassword") === "on" ? { bindPassword: "" } : {}),
      userSearchBase: orNull("userSearchBase"),
      // Emptied: the vendor's filters.
      ...filter("userFilter"),
      ...filter("groupFilter"),
      groupEntryDnList: lines("groupEntryDnList"),
      groupMappings: form.querySelector("ecm-group-rows")!.chosen("group mapping").map((r) => ({ groupDn: r.key, localGroupId: r.groupId })),
      syncPeriodSeconds: { full: Number(text("syncPeriodSeconds/full") || "0"), changed: Number(text("syncPeriodSeconds/changed") || "0") },
      ...(text("disableLimitPercent") ? { disableLimitPercent: Number(text("disableLimitPercent")) } : {}),
      priority: Number(text("priority") || "0"),
      // Emptied: the kind's default, as the placeholder says.
      attributeMapping: Object.fromEntries(ATTRIBUTES.flatMap(([k]) => {
        const value = typed(`attributeMapping/${k}`);
        return value === undefined ? [] : [[k, value || null]];
      })),
      ...(text("pageSize") ? { pageSize: Number(text("pageSize")) } : {}),
      ...(text("timeoutSeconds") ? { timeoutSeconds: Number(text("timeoutSeconds")) } : {}),
      enabled: data.get("enabled") === "on",
    };
  }

  get #form(): HTMLFormElement {
    return this.querySelector<HTMLFormElement>("#directory-form")!;
  }

  /** Once: a double click would send it twice (a new one's second refused as a name taken). */
  async #save(event: SubmitEvent, existing: ECMDirectory | undefined): Promise<void> {
    event.preventDefault();
    await this.oneAtATime(() => this.attempt(async () => {
      const fields = this.#fieldsOf(this.#form);
      const saved = existing
        ? await this.#version.save(this, existing, async (etag) => (await session.api.updateDirectory(existing.id, fields, etag)).value)
        : await session.security.createDirectory(fields);
      if (!saved) return;
      // A test still on its way was of the settings before: its answer is not shown under these.
      this.#tests++;
      this.#testing = false;
      this.#test = null;
      await this.#load();
      // The password went to the server, which never gives it back: the form no longer holds it either.
      const password = this.#form.querySelector<HTMLInputElement>("[name=bindPassword]");
      if (password) password.value = "";
      if (existing) this.notify(`Saved ${saved.name}.`);
      else navigateWithNotice(href(`directories/${saved.id}`), "Created. Test it, then start a sync.");
    }));
  }

  /** The form's fields to test, without a name when it has none yet. */
  #toTest(): DirectoryConfigToTest {
    const { name, ...fields } = this.#fieldsOf(this.#form);
    return name ? { name, ...fields } : fields;
  }

  /** A new directory: tests the form as it is; a stored one: its saved settings (with the stored password). */
  async #runTest(existing: ECMDirectory | undefined): Promise<void> {
    // A test stores nothing: every field is checked but the name, which a form not yet named may lack.
    const fields = [...this.#form.elements].filter((e): e is HTMLInputElement => "reportValidity" in e && (e as HTMLInputElement).name !== "name");
    if (!existing && !fields.every((e) => e.reportValidity())) return;
    const test = ++this.#tests;
    this.#testing = true;
    this.#test = null;
    this.requestUpdate();
    const result = await runTest(() => (existing ? session.security.testDirectory(existing.id) : session.security.testDirectoryConfig(this.#toTest())), this);
    if (test !== this.#tests) return;
    this.#test = result;
    this.#testing = false;
    this.requestUpdate();
    await this.updateComplete;
    this.querySelector<HTMLElement>("#test-title")?.focus();
  }

  async #startSync(d: ECMDirectory, mode: "full" | "changed"): Promise<void> {
    const force = this.querySelector<HTMLInputElement>("#sync-force")?.checked ?? false;
    this.#syncRefused = null;
    this.requestUpdate();
    try {
      this.#run = await session.security.startDirectorySync(d.id, { mode, force: mode === "full" && force });
      void this.#readRun(d.id);
    } catch (error) {
      this.#syncRefused = failed(error) || null;
      this.requestUpdate();
    }
  }

  protected override render() {
    const id = this.#id;
    if (this.#directories === null) return html`<h1 tabindex="-1">Directories</h1>${this.renderMessage()}${this.renderLoading()}`;
    if (id === undefined) return this.#renderList();
    const directory = this.#directories.find((d) => d.id === id);
    if (!directory && id !== "new") return html`<h1 tabindex="-1">Directories</h1><p class="message error" role="alert">No directory with the id “${id}”.</p>`;
    return html`
      <p><a href=${href("directories")}>← Directories</a></p>
      <h1 tabindex="-1">${directory ? directory.name : "New directory"}</h1>
      ${this.renderMessage()}
      ${this.#version.renderReload(this, () => this.#load())}
      ${keyed(this.#version.formKey, this.#renderForm(directory))}
      ${this.#renderTest()}
      ${directory ? this.#renderSync(directory) : nothing}
      ${directory ? this.#renderDelete(directory) : nothing}`;
  }

  #renderList(): TemplateResult {
    return html`
      <h1 tabindex="-1">Directories</h1>
      ${this.renderMessage()}
      <p class="toolbar"><a class="button" href=${href("directories/new")}>New directory</a></p>
      <table class="plain"><thead><tr><th>Name</th><th>Kind</th><th>Server</th><th>Base DN</th><th>Priority</th><th>Enabled</th><th>Last sync</th><th>Users</th></tr></thead>
        <tbody>${this.#directories!.map((d) => html`<tr><td><a class="name" href=${href(`directories/${d.id}`)}>${d.name}</a></td>
          <td>${VENDORS.find(([v]) => v === d.vendor)?.[1] ?? d.vendor}</td><td class="long"><code>${d.connectionUrl}</code></td><td class="long"><code>${d.baseDn}</code></td>
          <td>${d.priority}</td><td>${d.enabled ? "yes" : "no"}</td><td>${d.lastSyncStartedAt ? when(d.lastSyncStartedAt) : "never"}</td><td><a href=${href("users", { source: `directory:${d.id}` })}>Its users</a></td></tr>`)}</tbody>
      </table>
      ${this.#directories!.length === 0 ? html`<p>No directory yet: users log in with the passwords kept here, or through an identity provider.</p>` : nothing}`;
  }

  #renderForm(d: ECMDirectory | undefined): TemplateResult {
    const field = (name: string, label: string, value: string, extra: Partial<{ required: boolean; type: string; describedby: string; placeholder: string }> = {}) =>
      html`<div class="field"><label for=${`d-${name}`}>${label}</label><input id=${`d-${name}`} name=${name} type=${extra.type ?? "text"} .value=${value} data-shown=${value}
        ?required=${extra.required ?? false} aria-describedby=${extra.describedby ?? nothing} placeholder=${extra.placeholder ?? nothing} autocomplete=${extra.type === "password" ? SECRET_AUTOCOMPLETE : nothing}></div>`;
    const check = (name: string, label: string, checked: boolean) =>
      html`<div class="field"><label for=${`d-${name}`}>${label}</label><input id=${`d-${name}`} name=${name} type="checkbox" ?checked=${checked}></div>`;
    const area = (name: string, label: string, value: string, rows = 3) =>
      html`<div class="field"><label for=${`d-${name}`}>${label}</label><textarea id=${`d-${name}`} name=${name} rows=${rows}>${value}</textarea></div>`;
    const locked = d !== undefined && this.#locked !== false;
    return html`
      ${d && this.#locked ? html`<p class="message warn">Only a system administrator may change or delete this directory: accounts hold the system-administrator role through it (a user of it, or a group it fills). Testing and syncing it stay open, without forcing a sync past its limit on disabled users.</p>` : nothing}
      <form id="directory-form" @submit=${(e: SubmitEvent) => void this.#save(e, d)}>
        <fieldset class="form-grid" ?disabled=${locked}>
          <legend class="visually-hidden">Settings</legend>
          <div>
            ${field("name", "Directory name", d?.name ?? "", { required: true })}
            <div class="field"><label for="d-vendor">Kind</label><select id="d-vendor" name="vendor">
              ${VENDORS.map(([v, label]) => html`<option value=${v} ?selected=${(d?.vendor ?? "OTHER") === v}>${label}</option>`)}</select></div>
            ${field("priority", "Priority (the lower number wins a login name two directories hold)", String(d?.priority ?? 0), { type: "number" })}
            ${field("connectionUrl", "Server URLs (space-separated, tried in order)", d?.connectionUrl ?? "", { required: true, placeholder: "ldaps://dc1.example.com" })}
            ${check("startTls", "StartTLS on ldap://", d?.startTls ?? false)}
            ${area("caCertificate", "CA certificate (PEM, besides the system's)", d?.caCertificate ?? "")}
            ${check("allowUnencryptedPasswords", "Allow passwords over an unencrypted connection", d?.allowUnencryptedPasswords ?? false)}
            ${field("baseDn", "Base DN", d?.baseDn ?? "", { required: true })}
            ${field("bindDn", "Bind DN (empty: anonymous)", d?.bindDn ?? "")}
            ${field("bindPassword", "Bind password", "", { type: "password", describedby: "bind-password-help" })}
            <p id="bind-password-help" class="muted">${d ? "Never shown. Leave empty to keep the stored password; enter it again when the Bind DN, CA certificate or servers change, StartTLS is turned off for an ldap:// server or unencrypted passwords allowed." : "Needed with a Bind DN. Stored sealed; never shown again."}</p>
            ${d ? check("removePassword", "Remove the stored bind password (with the Bind DN emptied: anonymous reads)", false) : nothing}
            ${check("enabled", "Enabled (logins and periodic syncs)", d?.enabled ?? true)}
          </div>
          <div>
            ${field("userSearchBase", "User search base (empty: the whole base)", d?.userSearchBase ?? "")}
            ${field("userFilter", "User filter", d?.userFilter ?? "", { placeholder: "the kind's default" })}
            ${field("groupFilter", "Group filter", d?.groupFilter ?? "", { placeholder: "the kind's default" })}
            ${area("groupEntryDnList", "Groups to import (one DN a line)", (d?.groupEntryDnList ?? []).join("\n"))}
            <ecm-group-rows name="groupMappings" legend="Group mapping (group DN → local group)" key-label="Group DN" .exclude=${this.#guarded} .rows=${(d?.groupMappings ?? []).map((m) => ({ key: m.groupDn, groupId: m.localGroupId }))}></ecm-group-rows>
            ${field("syncPeriodSeconds/full", "Full sync every … seconds (0: only when started)", String(d?.syncPeriodSeconds.full ?? 0), { type: "number" })}
            ${field("syncPeriodSeconds/changed", "Changed sync every … seconds (0: only when started)", String(d?.syncPeriodSeconds.changed ?? 0), { type: "number" })}
            ${field("disableLimitPercent", "A full sync disables at most … % of its users unless forced", d ? String(d.disableLimitPercent) : "", { type: "number" })}
            ${field("pageSize", "Entries a search page reads", d ? String(d.pageSize) : "", { type: "number" })}
            ${field("timeoutSeconds", "Seconds to wait for an answer of the directory", d ? String(d.timeoutSeconds) : "", { type: "number" })}
            ${ATTRIBUTES.map(([k, label]) => field(`attributeMapping/${k}`, label, d?.attributeMapping[k] ?? "", { placeholder: "the kind's default" }))}
          </div>
        </fieldset>
        <div class="row">${locked ? nothing : html`<button class="primary" ?disabled=${this.busy}>${d ? "Save" : "Create"}</button>`}
          <button type="button" ?disabled=${this.#testing} @click=${() => void this.#runTest(d)}>${this.#testing ? "Testing…" : d ? "Test the stored settings" : "Test these settings"}</button>
          ${d && !locked ? html`<button type="button" class="danger" @click=${() => openDialog(this, "delete-directory")}>Delete…</button>` : nothing}</div>
      </form>`;
  }

  #renderTest(): TemplateResult | typeof nothing {
    const t = this.#test;
    if (!t) return nothing;
    return html`
      <section aria-labelledby="test-title">
        <h2 id="test-title" tabindex="-1">Connection test</h2>
        ${testOutcome(t, this)}
        ${"usersFound" in t && t.usersFound !== null ? html`<p>${t.usersFoundCapped ? "At least " : ""}${t.usersFound.toLocaleString()} ${t.usersFound === 1 ? "user" : "users"} found by the user filter.</p>` : nothing}
        ${"sample" in t && t.sample.length ? html`<table class="plain"><caption class="visually-hidden">Users as they would be imported</caption>
          <thead><tr><th>Username</th><th>Name</th><th>Email</th><th>Enabled</th><th>DN</th></tr></thead>
          <tbody>${t.sample.map((u) => html`<tr><td><span class="name">${u.username}</span></td><td class="long">${u.displayName}</td><td class="long">${u.email ?? "—"}</td><td>${u.enabled ? "yes" : "no"}</td><td class="long"><code>${u.dn}</code></td></tr>`)}</tbody>
        </table>` : nothing}
      </section>`;
  }

  #renderSync(d: ECMDirectory): TemplateResult {
    const run = this.#run;
    const running = run?.state === "running";
    return html`
      <section aria-labelledby="sync-title">
        <h2 id="sync-title">Sync</h2>
        <div class="row">
          <button type="button" ?disabled=${running || !d.enabled} aria-describedby=${d.enabled ? nothing : "sync-disabled"} @click=${() => void this.#startSync(d, "full")}>Start a full sync</button>
          <button type="button" ?disabled=${running || !d.enabled} aria-describedby=${d.enabled ? nothing : "sync-disabled"} @click=${() => void this.#startSync(d, "changed")}>Start a sync of the changes</button>
          <label class="row"><input id="sync-force" type="checkbox" ?disabled=${this.#locked !== false}> Force: a full sync disables gone users even past ${d.disableLimitPercent} %, and all of them when the directory answers none</label>
          <a href=${href("users", { source: `directory:${d.id}` })}>Its users</a>
        </div>
        ${d.enabled ? nothing : html`<p id="sync-disabled" class="muted">The directory is disabled: check “Enabled” above and save to sync it.</p>`}
        ${this.#syncRefused ? html`<p class="message error" role="alert">${this.#syncRefused}</p>` : nothing}
        <div role="status" aria-live="polite">
          ${run == null ? html`<p>${run === undefined && d.lastSyncStartedAt ? "Reading the last sync…" : "Never synced."}</p>` : html`
            <p><strong>${run.mode === "full" ? "Full sync" : "Sync of the changes"}: ${STATES[run.state]}</strong>
              — started ${when(run.startedAt)}${run.startedBy ? ` by ${run.startedBy}` : ""}${run.finishedAt ? `, ended ${when(run.finishedAt)}` : ""}${run.forced ? " (forced)" : ""}.</p>
            ${running ? html`<progress aria-label="Sync in progress"></progress>` : nothing}
            ${run.message ? html`<p class="message ${run.state === "failed" ? "error" : "warn"}">${inLabels(run.message, (field) => this.labelOf(field))}</p>` : nothing}
            ${running && this.#lookTrouble ? html`<p class="message warn">${this.#lookTrouble}</p>` : nothing}`}
        </div>
        ${run ? html`
          <table class="plain"><caption class="visually-hidden">Counts of the ${running ? "running" : "last"} sync</caption>
            <tbody>${COUNTS.map(([key, label]) => html`<tr><th scope="row">${label}</th><td>${run[key].toLocaleString()}</td></tr>`)}
              <tr><th scope="row">Users per second</th><td>${Math.round(run.usersPerSecond).toLocaleString()}</td></tr></tbody>
          </table>
          ${run.problems.length ? html`<h3 id="problems-title">${problemsTitle(run)}</h3>
            <table class="plain" aria-labelledby="problems-title"><thead><tr><th>Entry</th><th>Problem</th></tr></thead>
              <tbody>${run.problems.map((p) => html`<tr><td class="long"><code>${p.dn}</code></td><td>${inLabels(p.message, (field) => this.labelOf(field))}</td></tr>`)}</tbody></table>` : nothing}` : nothing}
      </section>`;
  }

  #renderDelete(d: ECMDirectory): TemplateResult {
    return html`<dialog id="delete-directory" aria-labelledby="delete-directory-title">
      <form method="dialog" @submit=${(e: SubmitEvent) => {
        if ((e.submitter as HTMLButtonElement | null)?.value !== "go") return;
        const users = new FormData(e.target as HTMLFormElement).get("users") === "delete" ? "delete" : "disable";
        void this.attempt(async () => {
          if (!(await this.#version.remove(this, d, (etag) => session.api.deleteDirectory(d.id, etag, { users })))) return;
          await this.#load();
          navigateWithNotice(href("directories"), `Deleted ${d.name}.`);
        });
      }}>
        <h2 id="delete-directory-title">Delete the directory ${d.name}?</h2>
        <fieldset>
          <legend>Its users</legend>
          <label><input type="radio" name="users" value="disable" checked> Keep them as disabled local users without a password, and its groups as local groups</label>
          <label><input type="radio" name="users" value="delete"> Delete them, and the groups it brought</label>
        </fieldset>
        <div class="row"><button class="danger" value="go">Delete</button><button value="cancel" autofocus>Cancel</button></div>
      </form>
    </dialog>`;
  }
}

customElements.define("ecm-directories", DirectoriesPage);
