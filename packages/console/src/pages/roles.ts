import { html } from "lit";
import type { RestGroup, RestRole } from "ecm-sdk/browser";
import { session } from "../api.js";
import { href } from "../router.js";
import { Page } from "../ui.js";

/** The roles, and the groups that grant each (roles are granted to groups, never to users). */
class RolesPage extends Page {
  #roles: RestRole[] | null = null;
  #grants = new Map<string, RestGroup[]>();

  override connectedCallback(): void {
    super.connectedCallback();
    void this.attempt(async () => {
      const [roles, groups] = await Promise.all([session.api.roles(), session.api.groups()]);
      const mappings = await Promise.all(groups.map(async (g) => [g, await session.api.groupRoles(g.id)] as const));
      for (const [group, granted] of mappings) for (const r of granted) this.#grants.set(r.name, [...(this.#grants.get(r.name) ?? []), group]);
      this.#roles = roles;
    });
  }

  protected override render() {
    return html`
      <h1 tabindex="-1">Roles</h1>
      ${this.renderMessage()}
      <p class="muted">Roles are granted to groups; a user holds the roles of its groups and of its profile's groups. Grant and revoke them on a group's page.</p>
      ${this.#roles === null ? html`<p>Loading…</p>` : html`
        <table class="plain"><thead><tr><th>Role</th><th>Description</th><th>Granted by</th></tr></thead>
          <tbody>${this.#roles.map((r) => html`<tr><td>${r.name}${r.builtin ? html` <span class="badge">Built-in</span>` : ""}</td><td>${r.description ?? ""}</td>
            <td>${(this.#grants.get(r.name) ?? []).map((g, i) => html`${i ? ", " : ""}<a href=${href(`groups/${g.id}`)}>${g.name}</a>`)}</td></tr>`)}</tbody>
        </table>`}`;
  }
}

customElements.define("ecm-roles", RolesPage);
