import { html, nothing, type TemplateResult } from "lit";
import type { ECMIdentityProvider, ECMIdentityProviderTest, IdentityProviderFields, RestGroup } from "ecm-sdk/browser";
import { session } from "../api.js";
import { href } from "../router.js";
import { mappingText, navigateWithNotice, openDialog, Page, parseMapping, testOutcome } from "../ui.js";

const CLAIMS = [
  ["usernameClaim", "Username claim"],
  ["emailClaim", "Email claim"],
  ["firstNameClaim", "First name claim"],
  ["lastNameClaim", "Last name claim"],
  ["groupsClaim", "Groups claim"],
] as const;

/** Identity providers (OpenID Connect): the list, and one provider's settings. The client secret is never shown. */
class ProvidersPage extends Page {
  #providers: ECMIdentityProvider[] | null = null;
  #groups: RestGroup[] = [];
  /** The last test's answer, for the provider it was of (the page may show another since). */
  #test: { alias: string; result: ECMIdentityProviderTest } | null = null;
  #testing = false;

  get #alias(): string | undefined {
    return this.route.rest[0];
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  async #load(): Promise<void> {
    await this.attempt(async () => {
      [this.#providers, this.#groups] = await Promise.all([session.security.identityProviders(), session.api.groups()]);
    });
  }

  /** The fields of the form; an empty secret field keeps the stored secret. */
  #fieldsOf(form: HTMLFormElement): IdentityProviderFields & { clientId: string } {
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    const customGroupList = parseMapping(text("customGroupList"), this.#groups, "group mapping").map(([idpGroupName, localGroupId]) => ({ idpGroupName, localGroupId }));
    const config: Record<string, unknown> = { scopes: text("scopes").split(/\s+/).filter(Boolean), trustEmail: data.get("trustEmail") === "on" };
    for (const [name] of CLAIMS) config[name] = text(name);
    return {
      displayName: text("displayName"),
      fromUrl: text("fromUrl"),
      enabled: data.get("enabled") === "on",
      guiOrder: Number(text("guiOrder") || "0"),
      clientId: text("clientId"),
      ...(text("clientSecret") ? { clientSecret: text("clientSecret") } : {}),
      defaultGroupList: data.getAll("defaultGroupList").map(String),
      customGroupList,
      config,
    };
  }

  async #save(event: SubmitEvent, existing: ECMIdentityProvider | undefined): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    await this.attempt(async () => {
      const fields = this.#fieldsOf(form);
      const alias = existing?.alias ?? String(new FormData(form).get("alias"));
      if (existing) await session.security.updateIdentityProvider(alias, fields);
      else await session.security.createIdentityProvider(alias, fields);
      navigateWithNotice(href("providers"), existing ? `Saved ${alias}.` : `Created ${alias}.`);
    });
  }

  /** The saved settings as a login would use them: the keys read, the client id and secret sent to the token endpoint. */
  async #runTest(p: ECMIdentityProvider): Promise<void> {
    this.#testing = true;
    this.#test = null;
    this.requestUpdate();
    await this.attempt(async () => {
      this.#test = { alias: p.alias, result: await session.security.testIdentityProvider(p.alias) };
    });
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
        ${testOutcome(this.#test.result)}
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
        <tbody>${this.#providers!.map((p) => html`<tr><td><a href=${href(`providers/${p.alias}`)}>${p.alias}</a></td><td>${p.displayName}</td><td>${p.config.issuer || p.fromUrl}</td>
          <td>${p.enabled ? "yes" : "no"}</td><td>${p.guiOrder}</td>
          <td><a href=${href("users", { source: `identity-provider:${p.alias}` })}>Its users</a></td></tr>`)}</tbody>
      </table>
      ${this.#providers!.length === 0 ? html`<p>No identity provider yet.</p>` : nothing}`;
  }

  #renderForm(p: ECMIdentityProvider | undefined): TemplateResult {
    const field = (name: string, label: string, value: string, extra: Partial<{ required: boolean; type: string; describedby: string }> = {}) =>
      html`<div class="field"><label for=${`p-${name}`}>${label}</label><input id=${`p-${name}`} name=${name} type=${extra.type ?? "text"} .value=${value} ?required=${extra.required ?? false} aria-describedby=${extra.describedby ?? nothing}></div>`;
    return html`
      <p><a href=${href("providers")}>← Identity providers</a></p>
      <h1 tabindex="-1">${p ? p.displayName : "New identity provider"}</h1>
      ${this.renderMessage()}
      <form @submit=${(e: SubmitEvent) => void this.#save(e, p)}>
        <div class="form-grid">
          <div>
            ${p ? html`<div class="field"><span>Alias</span><code>${p.alias}</code></div>` : field("alias", "Alias (in URLs, fixed)", "", { required: true })}
            ${field("displayName", "Display name", p?.displayName ?? "", { required: true })}
            ${field("fromUrl", "Issuer (discovery URL)", p?.fromUrl ?? "", { required: true, type: "url" })}
            ${field("clientId", "Client ID", p?.clientId ?? "", { required: true })}
            ${field("clientSecret", "Client secret", "", { type: "password", describedby: "secret-help" })}
            <p id="secret-help" class="muted">${p?.clientSecret ? "A secret is stored; it is never shown. Leave empty to keep it." : "Not set."}</p>
            <div class="field"><label for="p-enabled">Enabled (offered on the login page)</label><input id="p-enabled" name="enabled" type="checkbox" ?checked=${p?.enabled ?? true}></div>
            ${field("guiOrder", "Order on the login page", String(p?.guiOrder ?? 0), { type: "number" })}
            ${p ? html`<div class="field"><span>Redirect URI (register it at the provider)</span><code>${p.config.redirectUri}</code></div>` : nothing}
          </div>
          <div>
            ${field("scopes", "Scopes", (p?.config.scopes ?? ["openid", "email", "profile"]).join(" "))}
            ${CLAIMS.map(([name, label]) => field(name, label, p?.config[name] ?? ""))}
            <div class="field"><label for="p-trust">Link a first login by verified email</label><input id="p-trust" name="trustEmail" type="checkbox" ?checked=${p?.config.trustEmail ?? false}></div>
            <div class="field"><label for="p-default">Groups every user of it joins</label>
              <select id="p-default" name="defaultGroupList" multiple size="4">${this.#groups.map((g) => html`<option value=${g.id} ?selected=${p?.defaultGroupList.includes(g.id) ?? false}>${g.name}</option>`)}</select></div>
            <div class="field"><label for="p-mapping">Group mapping (one “claim value → group” a line)</label>
              <textarea id="p-mapping" name="customGroupList" rows="3">${p ? mappingText(p.customGroupList.map((m) => [m.idpGroupName, m.localGroupId]), this.#groups) : ""}</textarea></div>
          </div>
        </div>
        <div class="row"><button class="primary">${p ? "Save" : "Create"}</button>
          ${p ? html`<button type="button" ?disabled=${this.#testing} @click=${() => void this.#runTest(p)}>${this.#testing ? "Testing…" : "Test the stored settings"}</button>
            <button type="button" class="danger" @click=${() => openDialog(this, "delete-provider")}>Delete…</button>` : nothing}</div>
      </form>
      ${p ? this.#renderTest(p) : nothing}
      ${p ? html`<dialog id="delete-provider" aria-labelledby="delete-provider-title">
        <form method="dialog" @submit=${(e: SubmitEvent) => {
          if ((e.submitter as HTMLButtonElement | null)?.value !== "go") return;
          void this.attempt(async () => { await session.security.deleteIdentityProvider(p.alias); navigateWithNotice(href("providers"), `Deleted ${p.alias}.`); });
        }}>
          <h2 id="delete-provider-title">Delete the identity provider ${p.displayName}?</h2>
          <p>Its links to users go with it, and the sessions opened through it end.</p>
          <div class="row"><button class="danger" value="go">Delete</button><button value="cancel">Cancel</button></div>
        </form>
      </dialog>` : nothing}`;
  }
}

customElements.define("ecm-providers", ProvidersPage);
