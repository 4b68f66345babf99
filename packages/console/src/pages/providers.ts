import { html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { keyed } from "lit/directives/keyed.js";
import { ECMConflictError, type ECMIdentityProvider, type IdentityProviderFields, type LinkFate } from "ecm-sdk/browser";
import { session } from "../api.js";
import { href } from "../router.js";
import type { GroupRows } from "../group-rows.js";
import "../group-rows.js";
import { groupsOnlySystemAdministratorsHandOut, navigateWithNotice, onlySystemAdministrator, openDialog, Page, runTest, SECRET_AUTOCOMPLETE, SettingsVersion, testOutcome, type TestOutcome } from "../ui.js";

/** The claims a login reads, with the standard claim a new provider's form starts from (as its scopes do). */
const CLAIMS = [
  ["usernameClaim", "Username claim", "preferred_username"],
  ["emailClaim", "Email claim", "email"],
  ["firstNameClaim", "First name claim", "given_name"],
  ["lastNameClaim", "Last name claim", "family_name"],
  ["groupsClaim", "Groups claim", "groups"],
] as const;

/** The provider's endpoints, given here when it has no discovery document (or they differ from it). */
const ENDPOINTS = [
  ["issuer", "Issuer (iss)", true],
  ["authorizationUrl", "Authorization endpoint", true],
  ["tokenUrl", "Token endpoint", true],
  ["jwksUrl", "Keys (JWKS) URL", true],
  ["userInfoUrl", "UserInfo endpoint (optional)", false],
] as const;

const AUTH_METHODS = [
  ["client_secret_basic", "Client secret, HTTP Basic"],
  ["client_secret_post", "Client secret, in the form"],
  ["none", "None (a public client: no secret)"],
] as const;

/** The server's rule for an alias, checked as it is typed (the server says the same if it gets that far). */
const ALIAS_FIELD = {
  required: true,
  maxlength: 64,
  // The `v` flag the browser reads patterns with wants the hyphen in a class escaped.
  pattern: "(?![Bb][Uu][Ii][Ll][Tt][Ii][Nn]$)[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}",
  title: "1 to 64 letters (A-Z, a-z), digits, _ or -, starting with a letter or digit; not builtin",
};

/** Identity providers (OpenID Connect): the list, and one provider's settings. The client secret is never shown. */
class ProvidersPage extends Page {
  #providers: ECMIdentityProvider[] | null = null;
  /** The last test's answer, for the provider it was of (the page may show another since). */
  /** The last test of the provider shown: the server's answer, or why it got none. */
  #test: { alias: string; result: TestOutcome } | null = null;
  #testing = false;
  /** The form's endpoints are given by hand (no discovery URL); null: as the provider shown has them. */
  #explicit: boolean | null = null;
  /** Only a system administrator may change the provider shown (null until known). */
  #locked: boolean | null = null;
  /** The groups its lists are not offered: those only a system administrator hands out. */
  #guarded: ReadonlySet<string> = new Set();
  /** A Save the server asked about: it moves the provider's issuer or client ID, and these links would follow it. */
  #relink: { fields: IdentityProviderFields; links: number } | null = null;
  /** The version of the provider shown, sent with a Save: one another administrator changed meanwhile is refused (412), not written over. */
  readonly #version = new SettingsVersion<ECMIdentityProvider>("identity provider", (p) => session.api.identityProvider(p.alias));

  get #alias(): string | undefined {
    return this.route.rest[0];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  protected override unsavedEdits(): { page: string; edits: Record<string, string> } {
    return { page: `providers/${this.#alias ?? ""}`, edits: this.#version.edits() };
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    this.#version.drawn(this, this.querySelector<HTMLFormElement>("#provider-form"), `providers/${this.#alias ?? ""}`);
  }

  async #load(): Promise<void> {
    await this.attempt(async () => {
      const [{ items, one: p }, granting] = await Promise.all([this.#version.read(session.security.identityProviders(), (x) => x.alias === this.#alias), groupsOnlySystemAdministratorsHandOut()]);
      this.#guarded = new Set(granting.map((g) => g.id));
      this.#providers = items;
      this.#locked = p ? await onlySystemAdministrator(granting, [...p.defaultGroupList, ...p.customGroupList.map((m) => m.localGroupId)], { provider: p.alias }) : false;
    }, () => void this.#load());
  }

  /**
   * The fields of the form; an empty secret field keeps the stored secret. With a discovery URL the
   * endpoints are not sent (the server reads them from it); given by hand, they are, and no URL.
   */
  #fieldsOf(form: HTMLFormElement, explicit: boolean): IdentityProviderFields & { clientId: string } {
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    const defaultGroupList = form.querySelector<GroupRows>("#p-default")!.chosen("groups every user joins").map((r) => r.groupId);
    const customGroupList = form.querySelector<GroupRows>("#p-mapping")!.chosen("group mapping").map((r) => ({ idpGroupName: r.key, localGroupId: r.groupId }));
    const config: Record<string, unknown> = { scopes: text("config/scopes").split(/\s+/).filter(Boolean), trustEmail: data.get("config/trustEmail") === "on", clientAuthMethod: text("config/clientAuthMethod") };
    // A claim left empty is not sent: the server keeps the one it has (a new provider: the standard one).
    for (const [name] of CLAIMS) if (text(`config/${name}`)) config[name] = text(`config/${name}`);
    if (explicit) for (const [name] of ENDPOINTS) config[name] = text(`config/${name}`) || null;
    return {
      displayName: text("displayName"),
      fromUrl: explicit ? null : text("fromUrl"),
      enabled: data.get("enabled") === "on",
      guiOrder: Number(text("guiOrder") || "0"),
      clientId: text("clientId"),
      ...(text("clientSecret") ? { clientSecret: text("clientSecret") } : {}),
      defaultGroupList,
      customGroupList,
      config,
    };
  }

  /** Once: a double click would send it twice (a new one's second refused as an alias taken). */
  async #save(event: SubmitEvent, existing: ECMIdentityProvider | undefined): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    await this.oneAtATime(() => this.attempt(async () => {
      const fields = this.#fieldsOf(form, this.#explicitFor(existing));
      const alias = existing?.alias ?? String(new FormData(form).get("alias"));
      const saved = existing ? await this.#update(existing, fields) : await session.security.createIdentityProvider(alias, fields);
      if (!saved) return;
      navigateWithNotice(href("providers"), existing ? `Saved ${alias}.` : `Created ${alias}.`);
    }));
  }

  /**
   * Saves a change of `p`. One that moves its issuer or client ID while users are linked to it is refused
   * until the administrator says what becomes of the links (a subject is unique only at its issuer): the
   * dialog asks, and saves again with the answer.
   */
  async #update(p: ECMIdentityProvider, fields: IdentityProviderFields, links?: LinkFate): Promise<unknown> {
    try {
      return await this.#version.save(this, p, (etag) => session.api.updateIdentityProvider(p.alias, fields, etag, links ? { links } : undefined));
    } catch (error) {
      const info = error instanceof ECMConflictError ? (error.additionalInfo as { field?: unknown; links?: unknown } | null) : null;
      if (links !== undefined || info?.field !== "links") throw error;
      this.#relink = { fields, links: Number(info.links) };
      this.requestUpdate();
      await this.updateComplete;
      openDialog(this, "relink-provider");
      return null;
    }
  }

  #renderRelink(p: ECMIdentityProvider): TemplateResult {
    const count = this.#relink?.links ?? 0;
    return html`<dialog id="relink-provider" aria-labelledby="relink-provider-title">
      <form method="dialog" @submit=${(e: SubmitEvent) => {
        const relink = this.#relink;
        if ((e.submitter as HTMLButtonElement | null)?.value !== "go" || !relink) return;
        const links = new FormData(e.target as HTMLFormElement).get("links") === "keep" ? "keep" : "remove";
        void this.oneAtATime(() => this.attempt(async () => {
          if (!(await this.#update(p, relink.fields, links))) return;
          this.#relink = null;
          navigateWithNotice(href("providers"), `Saved ${p.alias}${links === "remove" ? `; its ${count === 1 ? "link was" : "links were"} removed` : ""}.`);
        }));
      }}>
        <h2 id="relink-provider-title">The issuer or client ID changes: what becomes of its ${count === 1 ? "link" : `${count} links`}?</h2>
        <p>A user's subject is unique only at its issuer: at another one, the same subject may be someone else, who would log in as the linked user.</p>
        <fieldset>
          <legend>Its links to users</legend>
          <label><input type="radio" name="links" value="remove" checked> Remove them, as deleting the provider does: its users log in again as new users, or by a verified email</label>
          <label><input type="radio" name="links" value="keep"> Keep them: the same people, with the same subjects (the provider moved, or its client was registered again)</label>
        </fieldset>
        <div class="row"><button class="primary" value="go">Save</button><button value="cancel" autofocus>Cancel</button></div>
      </form>
    </dialog>`;
  }

  /** The saved settings as a login would use them: the keys read, the client id and secret sent to the token endpoint. */
  async #runTest(p: ECMIdentityProvider): Promise<void> {
    this.#testing = true;
    this.#test = null;
    this.requestUpdate();
    const result = await runTest(() => session.security.testIdentityProvider(p.alias), this);
    this.#test = result && { alias: p.alias, result };
    this.#testing = false;
    this.requestUpdate();
    await this.updateComplete;
    this.querySelector<HTMLElement>("#test-title")?.focus();
  }

  #renderTest(p: ECMIdentityProvider): TemplateResult | typeof nothing {
    if (this.#test?.alias !== p.alias) return nothing;
    return html`
      <section aria-labelledby="test-title">
        <h2 id="test-title" tabindex="-1">Test</h2>
        ${testOutcome(this.#test.result, this)}
      </section>`;
  }

  protected override render() {
    const alias = this.#alias;
    if (this.#providers === null) return html`<h1 tabindex="-1">Identity providers</h1>${this.renderMessage()}${this.renderLoading()}`;
    if (alias === undefined) return this.#renderList();
    const provider = this.#providers.find((p) => p.alias === alias);
    if (!provider && alias !== "new") return html`<h1 tabindex="-1">Identity providers</h1><p class="message error" role="alert">No identity provider “${alias}”.</p>`;
    return this.#renderForm(provider);
  }

  #renderList(): TemplateResult {
    return html`
      <h1 tabindex="-1">Identity providers</h1>
      ${this.renderMessage()}
      <p class="toolbar"><a class="button" href=${href("providers/new")}>New provider</a></p>
      <table class="plain"><thead><tr><th>Alias</th><th>Display name</th><th>Issuer</th><th>Enabled</th><th>Order</th><th>Users</th></tr></thead>
        <tbody>${this.#providers!.map((p) => html`<tr><td><a class="name" href=${href(`providers/${p.alias}`)}>${p.alias}</a></td><td class="long">${p.displayName}</td><td class="long">${p.config.issuer || p.fromUrl}</td>
          <td>${p.enabled ? "yes" : "no"}</td><td>${p.guiOrder}</td>
          <td><a href=${href("users", { linkedTo: p.alias })}>Its users</a></td></tr>`)}</tbody>
      </table>
      ${this.#providers!.length === 0 ? html`<p>No identity provider yet.</p>` : nothing}`;
  }

  /** Whether the form gives the endpoints by hand: as chosen, else as the provider has them (a new one: discovery). */
  #explicitFor(p: ECMIdentityProvider | undefined): boolean {
    return this.#explicit ?? (p !== undefined && p.fromUrl === null);
  }

  #renderForm(p: ECMIdentityProvider | undefined): TemplateResult {
    // A control is named by its field's path in the request (`config/scopes`), as the server names it in a refusal.
    const field = (name: string, label: string, value: string, extra: Partial<{ required: boolean; type: string; describedby: string; readonly: boolean; pattern: string; maxlength: number; title: string }> = {}) =>
      html`<div class="field"><label for=${`p-${name}`}>${label}</label><input id=${`p-${name}`} name=${name} type=${extra.type ?? "text"} .value=${value} ?required=${extra.required ?? false} ?readonly=${extra.readonly ?? false} aria-describedby=${extra.describedby ?? nothing} pattern=${extra.pattern ?? nothing} maxlength=${extra.maxlength ?? nothing} title=${extra.title ?? nothing}
        autocomplete=${extra.type === "password" ? SECRET_AUTOCOMPLETE : nothing}></div>`;
    const explicit = this.#explicitFor(p);
    const locked = this.#locked !== false;
    const choose = (value: boolean) => { this.#explicit = value; this.requestUpdate(); };
    return html`
      <p><a href=${href("providers")}>← Identity providers</a></p>
      <h1 tabindex="-1">${p ? p.displayName : "New identity provider"}</h1>
      ${this.renderMessage()}
      ${this.#version.renderReload(this, async () => {
        await this.#load();
        // Their endpoints as they give them (discovery or by hand), not as chosen here.
        this.#explicit = null;
      })}
      ${p && this.#locked ? html`<p class="message warn">Only a system administrator may change or delete this identity provider: accounts hold the system-administrator role through it (a user of it, or a group it fills).</p>` : nothing}
      ${keyed(this.#version.formKey, html`<form id="provider-form" @submit=${(e: SubmitEvent) => void this.#save(e, p)}>
        <fieldset class="form-grid" ?disabled=${p !== undefined && locked}>
          <legend class="visually-hidden">Settings</legend>
          <div>
            ${p ? html`<div class="field"><span>Alias</span><code>${p.alias}</code></div>` : field("alias", "Alias (in URLs, fixed)", "", ALIAS_FIELD)}
            ${field("displayName", "Display name", p?.displayName ?? "", { required: true })}
            <fieldset class="choice">
              <legend>Endpoints</legend>
              <label class="row"><input type="radio" name="endpoints" value="discovery" .checked=${!explicit} @change=${() => choose(false)}> Read from the provider's discovery document</label>
              <label class="row"><input type="radio" name="endpoints" value="explicit" .checked=${explicit} @change=${() => choose(true)}> Given here</label>
            </fieldset>
            ${explicit ? nothing : field("fromUrl", "Issuer or discovery URL", p?.fromUrl ?? "", { required: true, type: "url", describedby: "from-url-help" })}
            ${explicit ? nothing : html`<p id="from-url-help" class="muted">${p ? "The endpoints below are what it named; a new URL is read again on save." : "The endpoints are read from it on save."}</p>`}
            ${ENDPOINTS.map(([name, label, required]) => !p && !explicit ? nothing : field(`config/${name}`, label, p?.config[name] ?? "", { required: explicit && required, type: name === "issuer" ? "text" : "url", readonly: !explicit }))}
            ${field("clientId", "Client ID", p?.clientId ?? "", { required: true })}
            <div class="field"><label for="p-clientAuthMethod">Client authentication</label><select id="p-clientAuthMethod" name="config/clientAuthMethod">
              ${AUTH_METHODS.map(([value, label]) => html`<option value=${value} ?selected=${(p?.config.clientAuthMethod ?? "client_secret_basic") === value}>${label}</option>`)}</select></div>
            ${field("clientSecret", "Client secret", "", { type: "password", describedby: "secret-help" })}
            <p id="secret-help" class="muted">${p?.clientSecret ? "A secret is stored; it is never shown. Leave empty to keep it." : "Not set."}</p>
            <div class="field"><label for="p-enabled">Enabled (offered on the login page)</label><input id="p-enabled" name="enabled" type="checkbox" ?checked=${p?.enabled ?? true}></div>
            ${field("guiOrder", "Order on the login page", String(p?.guiOrder ?? 0), { type: "number" })}
            ${p ? html`<div class="field"><span>Redirect URI (register it at the provider)</span><code>${p.config.redirectUri}</code></div>` : nothing}
          </div>
          <div>
            ${field("config/scopes", "Scopes", (p?.config.scopes ?? ["openid", "email", "profile"]).join(" "))}
            ${CLAIMS.map(([name, label, standard]) => field(`config/${name}`, label, p?.config[name] ?? standard))}
            <div class="field"><label for="p-trust">Link a first login by verified email</label><input id="p-trust" name="config/trustEmail" type="checkbox" ?checked=${p?.config.trustEmail ?? false}></div>
            <ecm-group-rows id="p-default" name="defaultGroupList" legend="Groups every user of it joins" group-label="Default group" .exclude=${this.#guarded} .rows=${(p?.defaultGroupList ?? []).map((groupId) => ({ key: "", groupId }))}></ecm-group-rows>
            <ecm-group-rows id="p-mapping" name="customGroupList" legend="Group mapping (claim value → local group)" key-label="Claim value" .exclude=${this.#guarded} .rows=${(p?.customGroupList ?? []).map((m) => ({ key: m.idpGroupName, groupId: m.localGroupId }))}></ecm-group-rows>
          </div>
        </fieldset>
        <div class="row">${p && locked ? nothing : html`<button class="primary" ?disabled=${this.busy}>${p ? "Save" : "Create"}</button>`}
          ${p ? html`<button type="button" ?disabled=${this.#testing} @click=${() => void this.#runTest(p)}>${this.#testing ? "Testing…" : "Test the stored settings"}</button>
            ${locked ? nothing : html`<button type="button" class="danger" @click=${() => openDialog(this, "delete-provider")}>Delete…</button>`}` : nothing}</div>
      </form>`)}
      ${p ? this.#renderTest(p) : nothing}
      ${p ? this.#renderRelink(p) : nothing}
      ${p ? html`<dialog id="delete-provider" aria-labelledby="delete-provider-title">
        <form method="dialog" @submit=${(e: SubmitEvent) => {
          if ((e.submitter as HTMLButtonElement | null)?.value !== "go") return;
          void this.attempt(async () => {
            if (await this.#version.remove(this, p, (etag) => session.api.deleteIdentityProvider(p.alias, etag))) navigateWithNotice(href("providers"), `Deleted ${p.alias}.`);
          });
        }}>
          <h2 id="delete-provider-title">Delete the identity provider ${p.displayName}?</h2>
          <p>Its links to users go with it, and the sessions opened through it end.</p>
          <div class="row"><button class="danger" value="go">Delete</button><button value="cancel" autofocus>Cancel</button></div>
        </form>
      </dialog>` : nothing}`;
  }
}

customElements.define("ecm-providers", ProvidersPage);
