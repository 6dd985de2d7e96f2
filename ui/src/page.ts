/** What every page gets, and what it gives back: its root and how to stop its timers. */
import type { Api } from './api.js';

export interface PageContext {
  api: Api;
  /** Marks the page as rendered with its first data (tests and benches wait for #page[data-ready]). */
  ready(): void;
  /** A repeating refresh that stops when the page is left. */
  every(ms: number, fn: () => Promise<void> | void): void;
  /** Whether the user has left this page (late answers are then dropped). */
  readonly left: boolean;
}

export type PageRender = (ctx: PageContext, root: HTMLElement, params: string[]) => Promise<void>;
