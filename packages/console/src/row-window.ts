import type { ReactiveController, ReactiveControllerHost } from "lit";

/**
 * The tallest sizer used: browsers lay out no element taller than about 2^25 px (Chromium: 33 554 428;
 * Firefox: 17 895 697), 1.1 million rows of 30 px at most. A longer list's scroll range stands for its
 * rows in proportion: a pixel of scrolling moves past more than a pixel of rows.
 */
export const MAX_SIZER_PX = 15_000_000;

/**
 * The rows of a list of equal-height rows that are in view (plus `overscan` on each side), for
 * virtual rows. Every row has the same height, so the range is arithmetic on the scroll position:
 * the work is the same for a million rows as for ten (a general virtualizer measures every row
 * whenever the count changes — about a second at a million, on the way to the first rows).
 * The host renders again when the range changes, not on every scroll event — but for a list longer
 * than MAX_SIZER_PX, whose rows are placed where the scroll position says (every scroll event).
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

  /** The sizer's height: the rows' own, or MAX_SIZER_PX for a list taller than that. */
  get totalHeight(): number {
    return Math.min(this.#count * this.#rowHeight, MAX_SIZER_PX);
  }

  /** Pixels of rows a pixel of scrolling moves past: 1 but for a list taller than MAX_SIZER_PX. */
  #scale(): number {
    const rows = this.#count * this.#rowHeight;
    const range = this.totalHeight - this.#height;
    return rows <= MAX_SIZER_PX || range <= 0 ? 1 : (rows - this.#height) / range;
  }

  /** How far down the rows the view starts (the scroll position, scaled). */
  #rowsTop(): number {
    return this.#top * this.#scale();
  }

  /** The first and last index to render (empty when first > last). */
  get range(): { first: number; last: number } {
    const rows = this.#rows();
    return { first: Math.max(0, rows.first - this.#overscan), last: Math.min(this.#count - 1, rows.last + this.#overscan) };
  }

  /** Where in the sizer a row is drawn. */
  start(index: number): number {
    return this.#top + index * this.#rowHeight - this.#rowsTop();
  }

  /** The first row at least partly in view. */
  get firstInView(): number {
    return this.#rows().first;
  }

  /** Scrolls so that the row is the first in view (as a list is shown again where it was left). */
  scrollToTop(index: number): void {
    const element = this.#element;
    if (!element) return;
    this.#height = element.clientHeight;
    element.scrollTop = (index * this.#rowHeight) / this.#scale();
    this.#read();
  }

  /** Scrolls just enough to show the row (as for arrow keys), and renders what is then in view at once. */
  scrollToIndex(index: number): void {
    const element = this.#element;
    if (!element) return;
    this.#height = element.clientHeight;
    const top = index * this.#rowHeight;
    const viewTop = this.#rowsTop();
    let next = viewTop;
    if (top < viewTop) next = top;
    else if (top + this.#rowHeight > viewTop + this.#height) next = top + this.#rowHeight - this.#height;
    if (next !== viewTop) element.scrollTop = next / this.#scale();
    this.#read();
  }

  /** The rows at least partly in view. */
  #rows(): { first: number; last: number } {
    const top = this.#rowsTop();
    return { first: Math.floor(top / this.#rowHeight), last: Math.ceil((top + this.#height) / this.#rowHeight) - 1 };
  }

  #read(): void {
    const element = this.#element;
    if (!element) return;
    const before = this.#rows();
    this.#top = element.scrollTop;
    this.#height = element.clientHeight;
    const after = this.#rows();
    if (after.first !== before.first || after.last !== before.last || this.#scale() !== 1) this.#host.requestUpdate();
  }
}
