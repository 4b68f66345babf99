import type { ReactiveController, ReactiveControllerHost } from "lit";

/**
 * The rows of a list of equal-height rows that are in view (plus `overscan` on each side), for
 * virtual rows. Every row has the same height, so the range is arithmetic on the scroll position:
 * the work is the same for a million rows as for ten (a general virtualizer measures every row
 * whenever the count changes — about a second at a million, on the way to the first rows).
 * The host renders again when the range changes, not on every scroll event.
 */
export class RowWindow implements ReactiveController {
  #host: ReactiveControllerHost;
  #scrollElement: () => HTMLElement | null;
  #rowHeight: number;
  #overscan: number;
  #element: HTMLElement | null = null;
  #top = 0;
  #height = 0;
  #count = 0;
  #resize = new ResizeObserver(() => this.#read());
  #onScroll = () => this.#read();

  constructor(host: ReactiveControllerHost, options: { scrollElement: () => HTMLElement | null; rowHeight: number; overscan: number }) {
    this.#host = host;
    this.#scrollElement = options.scrollElement;
    this.#rowHeight = options.rowHeight;
    this.#overscan = options.overscan;
    host.addController(this);
  }

  hostUpdated(): void {
    const element = this.#scrollElement();
    if (element === this.#element) return;
    this.hostDisconnected();
    this.#element = element;
    if (!element) return;
    element.addEventListener("scroll", this.#onScroll, { passive: true });
    this.#resize.observe(element);
    this.#read();
  }

  hostDisconnected(): void {
    this.#element?.removeEventListener("scroll", this.#onScroll);
    this.#resize.disconnect();
    this.#element = null;
  }

  /** Sets how many rows the list has (the height of its sizer is rows × row height). */
  set count(count: number) {
    this.#count = count;
  }

  get count(): number {
    return this.#count;
  }

  get totalHeight(): number {
    return this.#count * this.#rowHeight;
  }

  /** The first and last index to render (empty when first > last). */
  get range(): { first: number; last: number } {
    const rows = this.#rows();
    return { first: Math.max(0, rows.first - this.#overscan), last: Math.min(this.#count - 1, rows.last + this.#overscan) };
  }

  start(index: number): number {
    return index * this.#rowHeight;
  }

  /** Scrolls just enough to show the row (as for arrow keys), and renders what is then in view at once. */
  scrollToIndex(index: number): void {
    const element = this.#element;
    if (!element) return;
    const top = index * this.#rowHeight;
    if (top < element.scrollTop) element.scrollTop = top;
    else if (top + this.#rowHeight > element.scrollTop + element.clientHeight) element.scrollTop = top + this.#rowHeight - element.clientHeight;
    this.#read();
  }

  /** The rows at least partly in view. */
  #rows(): { first: number; last: number } {
    return { first: Math.floor(this.#top / this.#rowHeight), last: Math.ceil((this.#top + this.#height) / this.#rowHeight) - 1 };
  }

  #read(): void {
    const element = this.#element;
    if (!element) return;
    const before = this.#rows();
    this.#top = element.scrollTop;
    this.#height = element.clientHeight;
    const after = this.#rows();
    if (after.first !== before.first || after.last !== before.last) this.#host.requestUpdate();
  }
}
