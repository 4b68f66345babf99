import { html, nothing } from "lit";
import type { RestGroup, RestRole } from "ecm-sdk/browser";
import { session } from "../api.js";
import { href } from "../router.js";
import { Page } from "../ui.js";

/** The groups named beside each role, at most: the rest are a link away (a role may be granted to thousands). */
const GRANTS_SHOWN = 20;

/** The roles, and the groups that grant each (roles are granted to groups, never to users). */
class RolesPage extends Page {
  #roles: RestRole[] | null = null;
  #grants = new Map<string, { items: RestGroup[]; next: string | null }>();

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  #load(): Promise<boolean> {
    return this.attempt(async () => {
      // The first groups that grant each role, a request per role: a request per group is thousands of them in a big directory.
      const roles = await session.api.roles();
      const grants = await Promise.all(roles.map((r) => session.api.groups(undefined, { role: r.name, max: GRANTS_SHOWN })));
      roles.forEach((r, i) => this.#grants.set(r.name, grants[i]!));
      this.#roles = roles;
    }, () => void this.#load());
  }

  protected override render() {
    return html`
      <h1 tabindex="-1">Roles</h1>
      ${this.renderMessage()}
      <p class="muted">Roles are granted to groups; a user holds the roles of its groups and of its profile's groups. Grant and revoke them on a group's page.</p>
      ${this.#roles === null ? this.renderLoading() : html`
        <table class="plain"><thead><tr><th>Role</th><th>Description</th><th>Granted by</th></tr></thead>
          <tbody>${this.#roles.map((r) => html`<tr><td><span class="name">${r.name}</span>${r.builtin ? html` <span class="badge">Built-in</span>` : ""}</td><td>${r.description ?? ""}</td>
            <td class="long">${this.#grantedBy(r.name)}</td></tr>`)}</tbody>
        </table>`}`;
  }

  #grantedBy(role: string) {
    const grants = this.#grants.get(role);
    if (!grants) return nothing;
    const links = grants.items.map((g, i) => html`${i ? ", " : ""}<a href=${href(`groups/${g.id}`)}>${g.name}</a>`);
    return html`${links}${grants.next ? html` — <a href=${href("groups", { role })}>every group granting ${role}</a>` : nothing}`;
  }
}

customElements.define("ecm-roles", RolesPage);
