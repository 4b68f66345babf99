import { html } from "lit";
import { ECMAuthError, ECMTooManyRequestsError, ECMValidationError, type ECMLoginProvider } from "ecm-sdk/browser";
import { BASE_URL, beginProviderLogin, failed, providerRefusal, publicApi, session, tryAgainWords } from "../api.js";
import { navigate } from "../router.js";
import { Page } from "../ui.js";

/** Why a login was refused, in words a person can act on (the server gives one answer for every refusal, on purpose). */
function refusal(error: unknown): string {
  if (error instanceof ECMAuthError) return "The username or password is wrong, or this account cannot log in now (disabled, locked out, or outside its validity period).";
  if (error instanceof ECMTooManyRequestsError) return `Too many attempts. ${tryAgainWords(error)}`;
  if (error instanceof ECMValidationError) return `The login was refused: ${error.serverMessage}`;
  return failed(error) || "The login failed.";
}

/** Username and password; the page the user was on comes back after the login. */
class LoginPage extends Page {
  #providers: ECMLoginProvider[] = [];

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.route.params.get("expired")) this.notify("Your session has ended. Log in again to go back to where you were.", "warn");
    const provider = providerRefusal(this.route.params.get("provider"));
    if (provider) this.message = { kind: "error", text: provider };
    this.#readProviders();
  }

  /** The buttons of the identity providers; read again by Try again when the server could not be reached. */
  #readProviders(): void {
    publicApi.security.loginProviders().then(
      (list) => { this.#providers = [...list].sort((a, b) => a.guiOrder - b.guiOrder); this.requestUpdate(); },
      (error) => this.fail(error, () => this.#readProviders()),
    );
  }

  /** The provider's login; it comes back to the console with a one-time code. */
  #providerHref(alias: string): string {
    return `${BASE_URL}/auth/v1/providers/${encodeURIComponent(alias)}/login?returnTo=${encodeURIComponent(location.pathname)}`;
  }

  async #submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    await this.oneAtATime(async () => {
      this.message = null;
      try {
        await session.login(String(form.get("username")), String(form.get("password")));
        navigate(`#/${this.route.params.get("next") ?? ""}`, true);
      } catch (error) {
        this.message = { kind: "error", text: refusal(error) };
        this.requestUpdate();
        await this.updateComplete;
        const password = this.querySelector<HTMLInputElement>("#password")!;
        password.value = "";
        // The message is read out (an alert); the keyboard is where the password is typed again.
        password.focus();
      }
    });
  }

  protected override render() {
    return html`
      <div class="login">
        <h1 tabindex="-1">Log in to ECM Security</h1>
        <div id="login-message">${this.renderMessage()}</div>
        <form @submit=${(e: SubmitEvent) => void this.#submit(e)} aria-describedby="login-message">
          <label class="field"><span>Username</span><input id="username" name="username" autocomplete="username" required autofocus></label>
          <label class="field"><span>Password</span><input id="password" name="password" type="password" autocomplete="current-password" required></label>
          <div class="row"><button class="primary" ?disabled=${this.busy}>${this.busy ? "Logging in…" : "Log in"}</button></div>
        </form>
        ${this.#providers.length ? html`<div class="providers" role="group" aria-label="Log in with an identity provider">
          ${this.#providers.map((p) => html`<a class="button" href=${this.#providerHref(p.alias)} @click=${() => beginProviderLogin(p.alias, this.route.params.get("next") ?? "")}>Log in with ${p.displayName}</a>`)}
        </div>` : ""}
      </div>`;
  }
}

customElements.define("ecm-login", LoginPage);
