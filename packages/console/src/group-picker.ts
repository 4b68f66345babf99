import { html, LitElement, nothing } from "lit";
import { live } from "lit/directives/live.js";
import type { RestGroup } from "ecm-sdk/browser";
import { failed, passing, session } from "./api.js";

/** Pause after a keystroke before the groups are asked for (as the users search). */
const SUGGEST_DELAY_MS = 150;
/** Suggestions asked for at once: typing narrows them, so a directory's tens of thousands never come down. */
const SUGGESTIONS = 20;

let pickers = 0;

/**
 * Picks one group by typing part of its name: a combobox (the WAI-ARIA pattern: ↑ ↓ move, Enter
 * picks, or clears an emptied box; Escape closes and shows the choice again) whose suggestions are
 * the first groups matching the text, asked of the server as one types, the previous request
 * cancelled. `value` is the chosen group's id ("" for none); a group given by id alone is named by
 * reading that one group. A choice fires `group-change` (detail: the group, or null when the text was
 * emptied). Light DOM: a page's `<label for=inputId>` names it.
 */
export class GroupPicker extends LitElement {
  static override properties = {
    value: {},
    inputId: { attribute: "input-id" },
    label: {},
    placeholder: {},
    exclude: { attribute: false },
  };

  value = "";
  inputId = `group-picker-${++pickers}`;
  /** The accessible name when no visible label names the input. */
  label = "";
  placeholder = "Type to find a group";
  /**
   * Groups not to offer (those already held, those the caller may not hand out); null while the caller
   * does not know them yet: nothing is offered meanwhile, never a group it is about to leave out.
   */
  exclude: ReadonlySet<string> | null = new Set();

  /** Names of the groups seen, by id (the chosen one's is shown). */
  #names = new Map<string, string>();
  /** What is typed, while it is not the chosen group's name. */
  #text: string | null = null;
  #open = false;
  /** The groups matching the text, as the server answered: those offered are #offered. */
  #items: RestGroup[] = [];
  /** The text #items are the suggestions for: until the answer to what is typed now comes, they are another text's. */
  #itemsFor: string | null = null;
  #more = false;
  #active = -1;
  /** Why the last read of suggestions failed ("" when it did not), and whether Try again may help (passing). */
  #failure = "";
  #retry = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort: AbortController | null = null;

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  protected override willUpdate(): void {
    if (this.value && !this.#names.has(this.value)) void this.#name(this.value);
  }

  /** Reads the name of a group known by its id only (from the URL, a stored setting); an unknown id is shown as it is. */
  async #name(id: string): Promise<void> {
    this.#names.set(id, "");
    try {
      this.#names.set(id, (await session.api.group(id)).value.name);
    } catch {
      // Whoever gave the id says what is wrong with it (the users list: the server's answer to the filter).
      this.#names.set(id, id);
    }
    this.requestUpdate();
  }

  #suggest(text: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#fetch(text), SUGGEST_DELAY_MS);
  }

  async #fetch(text: string): Promise<void> {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    try {
      const page = await session.api.groups(text.trim(), { max: SUGGESTIONS, signal: abort.signal });
      for (const g of page.items) this.#names.set(g.id, g.name);
      this.#items = page.items;
      this.#itemsFor = text;
      this.#more = page.next !== null;
      this.#failure = "";
    } catch (error) {
      if (abort.signal.aborted) return;
      this.#items = [];
      this.#itemsFor = null;
      this.#more = false;
      this.#failure = failed(error);
      this.#retry = passing(error);
    }
    this.#active = -1;
    this.requestUpdate();
  }

  /** The suggestions offered: the matching groups but those excluded (none while the exclusions are unknown). */
  get #offered(): RestGroup[] {
    const exclude = this.exclude;
    return exclude === null ? [] : this.#items.filter((g) => !exclude.has(g.id));
  }

  /** What the popup says under the suggestions. */
  get #note(): string {
    if (this.#failure) return this.#failure;
    if (this.#itemsFor === null) return "";
    if (this.exclude === null) return "Loading…";
    return this.#more ? "More groups match — type to narrow." : this.#offered.length ? "" : "No group matches.";
  }

  /** Try again after a failed read: the suggestions for what is typed, the focus back in the box. */
  #again(): void {
    this.#failure = "";
    void this.#fetch(this.#text ?? "");
    this.querySelector<HTMLInputElement>(`#${this.inputId}`)?.focus();
    this.requestUpdate();
  }

  #show(): void {
    this.#open = true;
    this.#suggest(this.#text ?? "");
    this.requestUpdate();
  }

  #close(): void {
    clearTimeout(this.#timer);
    this.#abort?.abort();
    this.#open = false;
    this.#active = -1;
    this.requestUpdate();
  }

  #choose(group: RestGroup | null): void {
    this.value = group?.id ?? "";
    this.#text = null;
    this.#close();
    this.dispatchEvent(new CustomEvent("group-change", { detail: group, bubbles: true }));
  }

  #onKey(e: KeyboardEvent): void {
    const last = this.#offered.length - 1;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!this.#open) return this.#show();
      this.#active = e.key === "ArrowDown" ? Math.min(this.#active + 1, last) : Math.max(this.#active - 1, 0);
      this.requestUpdate();
      void this.updateComplete.then(() => this.querySelector(`#${this.inputId}-${this.#active}`)?.scrollIntoView({ block: "nearest" }));
    } else if (e.key === "Enter" && this.#text !== null && this.#text.trim() === "" && this.value) {
      // An emptied box: the choice is cleared, as leaving the box does.
      e.preventDefault();
      this.#choose(null);
    } else if (e.key === "Enter" && this.#open) {
      // Never submits the form around it with a text that names no chosen group.
      e.preventDefault();
      const highlighted = this.#offered[this.#active];
      if (highlighted) this.#choose(highlighted);
      else this.#chooseMatch(this.#text ?? "");
    } else if (e.key === "Escape" && (this.#open || this.#text !== null)) {
      // Closes the suggestions, not the dialog the picker is in.
      e.preventDefault();
      e.stopPropagation();
      // The box shows the chosen group again: never a text (or an empty box) that is not the choice.
      this.#text = null;
      this.#close();
    }
  }

  /**
   * Enter with no suggestion highlighted picks the group `text` names: the only one matching it, else the
   * one of exactly that name (ignoring case: "users" when "power-users" matches too). The suggestions shown
   * may still be those of an earlier text (typed or pasted, then Enter at once): then the groups matching
   * this one are asked for now, and the group is picked when they come, if `text` is still typed.
   */
  #chooseMatch(text: string): void {
    const named = () => {
      const offered = this.#offered;
      if (offered.length === 1) return offered[0];
      const name = text.trim().toLowerCase();
      return offered.find((g) => g.name.toLowerCase() === name);
    };
    if (this.#itemsFor === text) {
      const group = named();
      if (group) this.#choose(group);
      return;
    }
    clearTimeout(this.#timer);
    void this.#fetch(text).then(() => {
      const group = this.#open && (this.#text ?? "") === text && this.#itemsFor === text ? named() : undefined;
      if (group) this.#choose(group);
    });
  }

  #onBlur(e: FocusEvent): void {
    // To the popup's Try again: the popup stays open.
    if (e.relatedTarget instanceof Node && this.contains(e.relatedTarget)) return;
    if (this.#text !== null && this.#text.trim() === "" && this.value) this.#choose(null);
    else {
      // A text that was not picked goes back to the chosen group's name.
      this.#text = null;
      this.#close();
    }
  }

  protected override render() {
    const list = `${this.inputId}-list`;
    const shown = this.#text ?? (this.value ? (this.#names.get(this.value) ?? "") : "");
    return html`<div class="combobox">
      <input id=${this.inputId} type="text" role="combobox" autocomplete="off" aria-autocomplete="list" aria-expanded=${this.#open ? "true" : "false"}
        aria-controls=${list} aria-activedescendant=${this.#active >= 0 ? `${this.inputId}-${this.#active}` : nothing} aria-label=${this.label || nothing}
        placeholder=${this.placeholder} .value=${live(shown)}
        @input=${(e: InputEvent) => { this.#text = (e.target as HTMLInputElement).value; this.#active = -1; this.#show(); }}
        @keydown=${(e: KeyboardEvent) => this.#onKey(e)} @blur=${(e: FocusEvent) => this.#onBlur(e)}>
      <div class="combobox-popup" ?hidden=${!this.#open}>
        <ul id=${list} role="listbox" aria-label="Suggestions">${this.#offered.map((g, i) => html`<li id=${`${this.inputId}-${i}`} role="option"
          aria-selected=${i === this.#active ? "true" : "false"} @mousedown=${(e: Event) => e.preventDefault()} @click=${() => this.#choose(g)}>${g.name}</li>`)}</ul>
        ${this.#note ? html`<p class="muted">${this.#note}${this.#failure && this.#retry ? html` <button type="button" @mousedown=${(e: Event) => e.preventDefault()} @click=${() => this.#again()}>Try again</button>` : nothing}</p>` : nothing}
      </div>
    </div>`;
  }
}

customElements.define("ecm-group-picker", GroupPicker);

declare global {
  interface HTMLElementTagNameMap {
    "ecm-group-picker": GroupPicker;
  }
}
