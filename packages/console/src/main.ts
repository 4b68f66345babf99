import { LitElement, html, nothing } from "lit";
import { adoptProviderLogin, session } from "./api.js";
import { currentRoute, href, navigate, noteArrival, routeOf, type Route } from "./router.js";
import { navigateWithNotice, type Page } from "./ui.js";

interface PageEntry {
  tag: string;
  title: string;
  load: () => Promise<unknown>;
  /** Shown to system and security administrators only (the server refuses the others anyway). */
  admin: boolean;
  /** In the navigation, under this label. */
  nav?: string;
}

/** One module per page, loaded when the page is first opened. */
const PAGES: Record<string, PageEntry> = {
  login: { tag: "ecm-login", title: "Log in", load: () => import("./pages/login.js"), admin: false },
  users: { tag: "ecm-users", title: "Users", load: () => import("./pages/users.js"), admin: true, nav: "Users" },
  user: { tag: "ecm-user", title: "User", load: () => import("./pages/user.js"), admin: true },
  groups: { tag: "ecm-groups", title: "Groups", load: () => import("./pages/groups.js"), admin: true, nav: "Groups" },
  group: { tag: "ecm-group", title: "Group", load: () => import("./pages/group.js"), admin: true },
  roles: { tag: "ecm-roles", title: "Roles", load: () => import("./pages/roles.js"), admin: true, nav: "Roles" },
  directories: { tag: "ecm-directories", title: "Directories", load: () => import("./pages/directories.js"), admin: true, nav: "Directories" },
  providers: { tag: "ecm-providers", title: "Identity providers", load: () => import("./pages/providers.js"), admin: true, nav: "Identity providers" },
  audit: { tag: "ecm-audit", title: "Audit log", load: () => import("./pages/audit.js"), admin: true, nav: "Audit log" },
  me: { tag: "ecm-me", title: "My account", load: () => import("./pages/me.js"), admin: false, nav: "My account" },
};

/**
 * The page a route shows: `users/<id>` is one user, `groups/<id>` one group. An administration page is
 * no page for a plain user (the server refuses all it would ask for): the own account instead.
 */
function entryOf(route: Route): [string, PageEntry] {
  const key = route.page === "users" && route.rest[0] ? "user" : route.page === "groups" && route.rest[0] ? "group" : route.page;
  const entry = route.page === "user" || route.page === "group" ? undefined : PAGES[key];
  if (entry && (!entry.admin || session.isAdmin)) return [key, entry];
  return session.isAdmin ? ["users", PAGES.users!] : ["me", PAGES.me!];
}

/** What says whether a route is the page shown already: its entry and the rest of its path (not its parameters). */
function pageKeyOf(route: Route): string {
  return `${route.page === "login" ? "login" : entryOf(route)[0]}/${route.rest.join("/")}`;
}

/** What a URL's `notice=<case>` says (the server's redirects name the case: GET …/users/csv-links/<link>). */
const NOTICES: Record<string, string> = {
  "export-refused": "The CSV download was refused: the session that asked for it had ended, or its link had expired. Export again.",
};

const THEME_KEY = "ecm.console.theme";

function applyTheme(theme: string): void {
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/** The shell: navigation by role, the current page, the theme switch, the global shortcuts. */
class ConsoleApp extends LitElement {
  #page: Page | null = null;
  #pageKey = "";
  /** The URL went to another page since this one was made (it may be back by the time that is handled): make it anew. */
  #left = false;
  /** Which call of #show is the latest: an earlier one still loading its page's code gives way. */
  #shows = 0;
  #ready = false;
  /** The session this tab restored was checked with the server (a page may show before: #ready). */
  #checked = false;
  /** The page's code could not be loaded (the server stopped, the network went): said in its place. */
  #unloaded: PageEntry | null = null;

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    applyTheme(localStorage.getItem(THEME_KEY) ?? "system");
    addEventListener("hashchange", (event) => {
      if (event.oldURL && event.newURL) noteArrival(event.oldURL, event.newURL);
      // The URL of this very change (a replaced entry's own event has none): two changes handled late
      // both see the last URL, and "away and back" would otherwise keep the page, with its old data.
      // The page left keeps its edits not saved (it is still there to be asked).
      if (event.newURL && pageKeyOf(routeOf(event.newURL)) !== this.#pageKey) {
        this.#left = true;
        this.#page?.left();
      }
      void this.#show();
    });
    session.addEventListener("change", () => void this.#show());
    session.addEventListener("loggedout", () => navigate(href("login"), true));
    session.addEventListener("expired", () => {
      const here = location.hash.replace(/^#\/?/, "");
      navigate(href("login", { next: here.startsWith("login") ? undefined : here, expired: "1" }), true);
    });
    addEventListener("keydown", (event) => this.#shortcut(event));
    // Keys, the pointer and the wheel are what "in use" means: the session renews while they happen.
    for (const type of ["keydown", "pointerdown", "pointermove", "wheel"]) addEventListener(type, () => session.noteActivity(), { capture: true, passive: true });
    // The page's module loads while the session is checked, not after. With the token of this tab (and
    // not back from an identity provider), the page is even shown — its first requests sent — before
    // the check answers, unless who is logged in is not known yet: which pages they may see depends on it.
    const restored = !/^#(code|error)=/.test(location.hash) && session.restore();
    const { page } = currentRoute();
    void entryOf(currentRoute())[1].load();
    if (restored && page !== "login" && session.me !== null) {
      this.#ready = true;
      void this.#show();
    }
    void adoptProviderLogin().then(() => restored || session.ecm === null ? session.resume() : true).then(
      () => this.#ready = true,
      () => this.#ready = true,
    ).finally(() => {
      this.#checked = true;
      void this.#show();
    });
  }

  #shortcut(event: KeyboardEvent): void {
    const target = event.target as HTMLElement;
    const typing = target.closest("input, textarea, select, [contenteditable]") !== null;
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey) {
      const search = this.querySelector<HTMLInputElement>("[data-search]");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    } else if (event.key === "?" && !typing) {
      this.querySelector<HTMLDialogElement>("#shortcuts")?.showModal();
    }
  }

  async #show(): Promise<void> {
    if (!this.#ready) return;
    const call = ++this.#shows;
    const route = currentRoute();
    if (!session.ecm && route.page !== "login") {
      const here = location.hash.replace(/^#\/?/, "");
      navigate(href("login", { next: here || undefined }), true);
      return;
    }
    if (session.ecm && session.me?.changePassword && route.page !== "me") {
      // The page asked for (a link, the page the session ended on) comes once the password is changed.
      const next = route.page === "login" ? route.params.get("next") ?? undefined : location.hash.replace(/^#\/?/, "");
      navigate(href("me", { required: "1", next }), true);
      return;
    }
    const [key, entry] = route.page === "login" ? ["login", PAGES.login!] : entryOf(route);
    if (session.ecm && key === "login") {
      navigate(`#/${route.params.get("next") ?? ""}`, true);
      return;
    }
    // What the server sent the browser back to say (a CSV download it refused): the URL names the case, the
    // console's own words say it, once — a link of anyone's sets no text on a page.
    const notice = NOTICES[route.params.get("notice") ?? ""];
    // Not before the session is checked: a page shown meanwhile may yet give way to the login page, which would take it.
    if (notice && key !== "login" && this.#checked) {
      route.params.delete("notice");
      this.#pageKey = "";
      navigateWithNotice(href([route.page, ...route.rest].join("/"), route.params), notice, true);
      return;
    }
    // A plain user sent to an administration page (a link, the page after a login): the URL says where they are.
    if (key === "me" && route.page !== "me" && PAGES[route.page]?.admin) {
      // A page made anew, which takes the notice (My account shown already would not).
      this.#pageKey = "";
      navigateWithNotice(href("me"), "That page is for administrators: here is your own account.", true);
      return;
    }
    // No page by that name (a mistyped link): the home page, with the URL saying so and a word on why.
    if (route.page !== "" && (!(route.page in PAGES) || route.page === "user" || route.page === "group")) {
      // A page made anew, which takes the notice (the home page shown already would not).
      this.#pageKey = "";
      navigateWithNotice(href(key), `There is no page “${route.page}”.`, true);
      return;
    }
    let loaded = true;
    await entry.load().catch((error: unknown) => {
      // The browser could not fetch the page's code (the server stopped, the network went); a fault of the code itself stays an error.
      if (!(error instanceof TypeError && /dynamically imported module|module script failed/i.test(error.message))) throw error;
      loaded = false;
    });
    // A later navigation came while this page's code loaded: it shows its own page (a slow first load
    // would otherwise replace the page clicked after it).
    if (call !== this.#shows) return;
    this.#unloaded = loaded ? null : entry;
    if (!loaded) {
      // Not the page before under the new URL: what happened, in its place.
      this.#pageKey = "";
      document.title = `${entry.title} · ECM Security`;
      this.requestUpdate();
      await this.updateComplete;
      this.querySelector<HTMLElement>("main h1")?.focus();
      return;
    }
    const pageKey = pageKeyOf(route);
    if (pageKey === this.#pageKey && this.#page && !this.#left) {
      this.#page.route = route;
      this.#page.routeChanged();
    } else {
      this.#pageKey = pageKey;
      this.#left = false;
      this.#page = document.createElement(entry.tag) as Page;
      this.#page.route = route;
      document.title = `${entry.title} · ECM Security`;
      this.requestUpdate();
      await this.updateComplete;
      await this.#page.updateComplete;
      // A page made for typing into (the login) starts in its field; the others at their heading, which a screen reader reads first.
      // (Not a dialog's: that is where the dialog opens.)
      ([...this.querySelectorAll<HTMLElement>("main [autofocus]")].find((el) => !el.closest("dialog")) ?? this.querySelector<HTMLElement>("main h1"))?.focus();
    }
    this.requestUpdate();
  }

  protected override render() {
    const unloaded = this.#unloaded;
    const content = unloaded
      ? html`<h1 tabindex="-1">${unloaded.title}</h1>
          <div class="message error" role="alert">The server cannot be reached: this page could not be loaded. Check the connection, then reload.</div>
          <p><button @click=${() => location.reload()}>Reload</button></p>`
      : this.#page;
    if (!content) return nothing;
    if (!session.ecm) return html`<main id="main">${content}</main>`;
    const current = currentRoute().page || (session.isAdmin ? "users" : "me");
    const theme = localStorage.getItem(THEME_KEY) ?? "system";
    return html`
      <a class="skip" href="#main" @click=${(e: Event) => { e.preventDefault(); this.querySelector<HTMLElement>("main h1")?.focus(); }}>Skip to content</a>
      <div class="shell">
        <nav aria-label="Main">
          <div class="brand">ECM Security</div>
          ${Object.entries(PAGES)
            .filter(([, p]) => p.nav && (!p.admin || session.isAdmin))
            .map(([key, p]) => html`<a href=${href(key)} aria-current=${current === key ? "page" : "false"}>${p.nav}</a>`)}
          <div class="spacer"></div>
          <label class="muted" for="theme">Theme</label>
          <select id="theme" @change=${(e: Event) => { const v = (e.target as HTMLSelectElement).value; localStorage.setItem(THEME_KEY, v); applyTheme(v); }}>
            ${["system", "light", "dark"].map((t) => html`<option value=${t} ?selected=${t === theme}>${t[0]!.toUpperCase() + t.slice(1)}</option>`)}
          </select>
          <button class="link" @click=${() => this.querySelector<HTMLDialogElement>("#shortcuts")?.showModal()}>Keyboard shortcuts</button>
          <p class="muted">${session.me?.username}</p>
          <button @click=${() => void session.logout()}>Log out</button>
        </nav>
        <main id="main">${content}</main>
      </div>
      <dialog id="shortcuts" aria-labelledby="shortcuts-title">
        <h2 id="shortcuts-title">Keyboard shortcuts</h2>
        <table class="plain">
          <tbody>
            ${session.isAdmin ? html`<!-- The search and the users table are administrators' pages: a plain user has neither. -->
            <tr><td><span class="kbd">/</span></td><td>Search</td></tr>
            <tr><td><span class="kbd">↑</span> <span class="kbd">↓</span> <span class="kbd">Page Up</span> <span class="kbd">Page Down</span> <span class="kbd">Home</span> <span class="kbd">End</span></td><td>Move in the users table</td></tr>
            <tr><td><span class="kbd">Space</span></td><td>Select the row</td></tr>
            <tr><td><span class="kbd">Enter</span></td><td>Open the user</td></tr>` : nothing}
            <tr><td><span class="kbd">?</span></td><td>This list</td></tr>
            <tr><td><span class="kbd">Esc</span></td><td>Close a dialog</td></tr>
          </tbody>
        </table>
        <form method="dialog"><button>Close</button></form>
      </dialog>`;
  }
}

customElements.define("ecm-console", ConsoleApp);
