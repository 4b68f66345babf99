import { html, nothing } from "lit";
import type { RestMe } from "ecm-sdk/browser";
import { session } from "../api.js";
import { href, navigate } from "../router.js";
import { navigateWithNotice, Page, when } from "../ui.js";

/** Either new password typed in (the first may be the one corrected): "they differ" is taken back, and the next Change compares them again. */
const compareAgain = (event: Event) => (event.target as HTMLInputElement).form!.querySelector<HTMLInputElement>("[name=repeat]")!.setCustomValidity("");

/** The logged-in user's own account and password (the forced password change happens here). */
class MePage extends Page {
  override connectedCallback(): void {
    super.connectedCallback();
    // The address may still ask after the change was made (a bookmark, a reload): the account says whether it is due.
    if (this.route.params.get("required") && session.me?.changePassword) this.notify("Your password must be changed before you go on.", "warn");
  }

  async #change(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const repeat = form.querySelector<HTMLInputElement>("[name=repeat]")!;
    if (data.get("newPassword") !== data.get("repeat")) {
      repeat.setCustomValidity("The new passwords differ.");
      form.reportValidity();
      return;
    }
    const required = session.me?.changePassword === true;
    // Once: a second submit would send the old password again, and change it twice or be refused as wrong.
    await this.oneAtATime(async () => {
      if (!(await this.attempt(() => session.api.changeMyPassword(String(data.get("currentPassword")), String(data.get("newPassword")))))) return;
      form.reset();
      await session.refresh();
      const next = this.route.params.get("next");
      // In place of the page that asked for the change, as for a plain user below: Back does not ask for it again.
      if (required && session.isAdmin) return navigateWithNotice(next ? `#/${next}` : href("users"), "Your password was changed.", true);
      // A plain user stays here: the URL no longer asks for the change, and the page says it is done.
      if (required) navigate(href("me"), true);
      this.notify("Your password was changed; your other sessions were ended.");
    });
  }

  /**
   * The password change; a directory's user is told where it is (a change its directory requires is
   * made there), a user of identity providers only has no password here to change. A former
   * directory user (its directory removed, the account kept) keeps its DN and has a password here.
   */
  #password(me: RestMe) {
    if (me.source?.type === "directory") {
      return html`<h2>Change password</h2><p>Your password is managed by your directory.${me.changePassword ? " It asks for a new one: change it there, then log in again." : ""}</p>`;
    }
    if (me.hasPassword === false) {
      const providers = (me.federatedIdentities ?? []).map((f) => f.displayName).join(", ");
      return html`<p>You log in through ${providers || "an identity provider"}: this account has no password here.${me.changePassword ? " An administrator asked for a password change, which this account cannot make: ask them to take that back." : ""}</p>`;
    }
    return html`
      <h2>Change password</h2>
      <form @submit=${(e: SubmitEvent) => void this.#change(e)} @input=${() => this.clearError()}>
        <label class="field"><span>Current password</span><input name="currentPassword" type="password" autocomplete="current-password" required></label>
        <label class="field"><span>New password</span><input name="newPassword" type="password" autocomplete="new-password" required aria-describedby="pw-rule" @input=${compareAgain}></label>
        <p id="pw-rule" class="muted">Long enough (the server says how long: its policy is configurable), not a common password, not your name.</p>
        <label class="field"><span>Repeat the password</span><input name="repeat" type="password" autocomplete="new-password" required @input=${compareAgain}></label>
        <button class="primary" ?disabled=${this.busy}>${this.busy ? "Changing…" : "Change password"}</button>
      </form>`;
  }

  protected override render() {
    const me = session.me;
    if (!me) return nothing;
    return html`
      <h1 tabindex="-1">My account</h1>
      ${this.renderMessage()}
      <dl class="field"><dt>Username</dt><dd>${me.username}</dd><dt>Display name</dt><dd>${me.displayName}</dd><dt>Email</dt><dd>${me.email ?? "—"}</dd>
        <dt>Groups</dt><dd>${(me.groups ?? []).join(", ")}</dd><dt>Roles</dt><dd>${me.changePassword ? html`<span class="muted">shown once the password is changed</span>` : session.roles.join(", ")}</dd>
        ${me.validTo ? html`<dt>Valid until</dt><dd>${when(me.validTo)}</dd>` : nothing}</dl>
      ${this.#password(me)}`;
  }
}

customElements.define("ecm-me", MePage);
