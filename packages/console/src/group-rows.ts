import { html, LitElement, nothing } from "lit";
import { live } from "lit/directives/live.js";
import { repeat } from "lit/directives/repeat.js";
import type { RestGroup } from "ecm-sdk/browser";
import "./group-picker.js";

/** One row: the outside value mapped (a group DN, a claim value; "" where there is none) and the local group's id. */
export interface GroupRow {
  key: string;
  groupId: string;
}

/**
 * A list of local groups, each chosen with the group picker: with `keyLabel`, a mapping (each row an
 * outside value → a local group: a directory's group DNs, a provider's claim values); without, the
 * groups alone (a provider's groups every user joins). `rows` is set from the stored settings; read
 * the edited ones with `chosen()`. Stored groups are named by reading each one by its id.
 */
export class GroupRows extends LitElement {
  // Pages pass the stored rows anew on every render (a sync's progress, a test's answer): only other rows replace the edits.
  static override properties = { rows: { attribute: false, hasChanged: (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b) }, legend: {}, keyLabel: { attribute: "key-label" }, groupLabel: { attribute: "group-label" }, exclude: { attribute: false } };

  rows: readonly GroupRow[] = [];
  legend = "";
  keyLabel = "";
  /** What each row's group picker is named, numbered: a page with two lists names each its own (“Local group 1” twice named two). */
  groupLabel = "Local group";
  /** Groups the pickers do not offer (those granting system-administrator, to anyone but a system administrator). */
  exclude: ReadonlySet<string> = new Set();
  /** The rows as edited; each its own object, the key of its DOM (a removal must not hand one row's typing to the next). */
  #edited: GroupRow[] = [];
  /** The stored rows (as JSON) #edited was made from: other stored rows replace the edits. */
  #editedFrom = "[]";

  /**
   * A field of its form, its rows as a whole: what a page keeps of a form's edits over a session's end
   * (FormShown) reads its `value` and puts it back as any field's.
   */
  static formAssociated = true;

  get name(): string {
    return this.getAttribute("name") ?? "";
  }

  /** The rows as edited, as JSON (the stored ones until they are drawn). */
  get value(): string {
    const rows = JSON.stringify(this.rows) === this.#editedFrom ? this.#edited : this.rows;
    return JSON.stringify(rows.map(({ key, groupId }) => ({ key, groupId })));
  }

  set value(json: string) {
    this.#edited = (JSON.parse(json) as GroupRow[]).map(({ key, groupId }) => ({ key, groupId }));
    this.#editedFrom = JSON.stringify(this.rows);
    this.requestUpdate();
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (!changed.has("rows") || JSON.stringify(this.rows) === this.#editedFrom) return;
    this.#edited = this.rows.map((r) => ({ ...r }));
    this.#editedFrom = JSON.stringify(this.rows);
  }

  /** The rows that say something; a value without its local group is refused in words (`what` names the list). */
  chosen(what: string): GroupRow[] {
    const chosen: GroupRow[] = [];
    for (const [i, r] of this.#edited.entries()) {
      const key = r.key.trim();
      if (!key && !r.groupId) continue;
      if (!r.groupId) throw new Error(`Choose the local group of “${key}” (${what}).`);
      if (this.keyLabel && !key) throw new Error(`${this.keyLabel} ${i + 1} is empty (${what}).`);
      chosen.push({ key, groupId: r.groupId });
    }
    return chosen;
  }

  #change(): void {
    this.requestUpdate();
  }

  /** A row added: the keyboard goes on in its first field (the outside value, else the group). */
  async #add(): Promise<void> {
    this.#edited.push({ key: "", groupId: "" });
    this.requestUpdate();
    await this.updateComplete;
    this.querySelector<HTMLElement>(".row:last-of-type input")?.focus();
  }

  /**
   * A row removed: its button is gone with it, and the focus would fall to the top of the document. It
   * goes to the Remove of the row now in its place (the one before, when it was the last), with none left to Add.
   */
  async #remove(i: number): Promise<void> {
    this.#edited.splice(i, 1);
    this.requestUpdate();
    await this.updateComplete;
    const removes = this.querySelectorAll<HTMLElement>(".row > button");
    (removes[Math.min(i, removes.length - 1)] ?? this.querySelector<HTMLElement>("fieldset > button"))?.focus();
  }

  protected override render() {
    const mapping = this.keyLabel !== "";
    return html`<fieldset class="choice"><legend>${this.legend}</legend>
      ${repeat(this.#edited, (r) => r, (r, i) => html`<div class="row">
        ${mapping ? html`<input aria-label=${`${this.keyLabel} ${i + 1}`} .value=${live(r.key)} @input=${(e: InputEvent) => { r.key = (e.target as HTMLInputElement).value; }}><span aria-hidden="true">→</span>` : nothing}
        <ecm-group-picker label=${`${this.groupLabel} ${i + 1}`} .value=${r.groupId} .exclude=${this.exclude} @group-change=${(e: CustomEvent<RestGroup | null>) => { r.groupId = e.detail?.id ?? ""; this.#change(); }}></ecm-group-picker>
        <button type="button" aria-label=${`Remove ${mapping ? "mapping" : "group"} ${i + 1}`} @click=${() => void this.#remove(i)}>Remove</button>
      </div>`)}
      <button type="button" @click=${() => void this.#add()}>${mapping ? "Add a mapping" : "Add a group"}</button>
    </fieldset>`;
  }
}

customElements.define("ecm-group-rows", GroupRows);

declare global {
  interface HTMLElementTagNameMap {
    "ecm-group-rows": GroupRows;
  }
}
