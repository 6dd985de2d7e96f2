/**
 * A server-side paged table over a CIMI collection: $first/$last windows of PAGE_SIZE members, the
 * collection's count for the range text. Only one window is ever loaded.
 */
import type { Api, Json } from './api.js';
import { byId, fill, h } from './dom.js';

export const PAGE_SIZE = 50;

export interface PagedTable<T> {
  /** The collection path, without $first/$last (may carry other query parameters). */
  path: string;
  /** The member array's name in the collection body (machines, hosts). */
  member: string;
  /** Element ids: the table's tbody, the prev/next buttons and the range text. */
  tbodyId: string; prevId: string; nextId: string; rangeId: string;
  row: (m: T) => HTMLTableRowElement;
  empty: string;
}

export class Pager<T> {
  private first = 1;

  constructor(private readonly api: Api, private readonly t: PagedTable<T>) {
    byId(t.prevId).addEventListener('click', () => { this.first = Math.max(1, this.first - PAGE_SIZE); void this.load(); });
    byId(t.nextId).addEventListener('click', () => { this.first += PAGE_SIZE; void this.load(); });
  }

  async load(): Promise<void> {
    const sep = this.t.path.includes('?') ? '&' : '?';
    const body = await this.api.get<Json>(`${this.t.path}${sep}$first=${this.first}&$last=${this.first + PAGE_SIZE - 1}`);
    const members = (body[this.t.member] as T[] | undefined) ?? [];
    const count = typeof body.count === 'number' ? body.count : members.length;
    if (members.length === 0 && this.first > 1 && count > 0) { this.first = Math.max(1, Math.floor((count - 1) / PAGE_SIZE) * PAGE_SIZE + 1); return this.load(); }
    const tbody = byId(this.t.tbodyId);
    fill(tbody, ...(members.length ? members.map(this.t.row) : [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, this.t.empty))]));
    const last = this.first + members.length - 1;
    byId(this.t.rangeId).textContent = members.length ? `${this.first}–${last} of ${count}${body.countCapped ? '+' : ''}` : `0 of ${count}`;
    (byId(this.t.prevId) as HTMLButtonElement).disabled = this.first <= 1;
    (byId(this.t.nextId) as HTMLButtonElement).disabled = last >= count && !body.countCapped;
  }
}
