import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareBy, runCollectionQuery, type CollectionQuery, type OrderKey } from '../../../frontend/cimi/collection-query.js';
import { parseFilter } from '../../../frontend/cimi/filter-parser.js';
import { evalFilter } from '../../../frontend/cimi/filter-eval.js';

type Item = { n: number; cpu: number; name: string };

async function* paged(items: Item[], size: number): AsyncIterable<Item[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

describe('frontend collection query (streaming window)', () => {
  it('property: same result as filtering, stable-sorting and slicing the whole collection', async () => {
    const item = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.constantFrom('a', 'b', 'c', 'd')).map(([cpu, name]) => ({ cpu, name }));
    await fc.assert(fc.asyncProperty(
      fc.array(item, { maxLength: 120 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 130 }), fc.integer({ min: 0, max: 60 }),
      fc.constantFrom<OrderKey[]>([], [{ attr: 'cpu', desc: false }], [{ attr: 'cpu', desc: true }, { attr: 'name', desc: false }], [{ attr: 'name', desc: true }]),
      fc.constantFrom(null, 'cpu >= 3', "name = 'a' or name = 'c'"),
      fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 200 }),
      async (raw, pageSize, first, span, orderBy, filterSrc, countLimit, maxScan) => {
        const items: Item[] = raw.map((r, n) => ({ ...r, n }));
        const filter = filterSrc ? parseFilter(filterSrc) : null;
        const q: CollectionQuery = { filter, orderBy, first, last: first + span, select: null, countLimit, maxScan };
        const matching = items.filter((i) => !filter || evalFilter(filter, i));
        const sorted = orderBy.length ? [...matching].sort((a, b) => compareBy(orderBy, a, b) || a.n - b.n) : matching;
        const window = sorted.slice(first - 1, first + span).map((m) => m.n);
        if (orderBy.length > 0 && items.length > maxScan) {
          await assert.rejects(runCollectionQuery(paged(items, pageSize), q, (i) => i), /\$orderby over more than/);
          return;
        }
        let viewed = 0;
        const got = await runCollectionQuery(paged(items, pageSize), q, (i) => { viewed++; return i; });
        const ns = got.members.map((m) => m.n);
        // Without $filter/$orderby only the window is viewed (a view may cost a store read).
        if (!filter && orderBy.length === 0) assert.equal(viewed, ns.length);
        if (!got.countCapped) {
          assert.equal(got.count, matching.length);
          assert.deepEqual(ns, window);
          return;
        }
        // Stopped early: a lower bound, and a consistent prefix of the true window.
        assert.equal(orderBy.length, 0);
        assert.ok(got.count <= matching.length && got.count < matching.length + 1);
        assert.deepEqual(ns, window.slice(0, ns.length));
        if (items.length <= maxScan) {
          // Only the count limit stopped it: the window is complete and enough was counted.
          assert.deepEqual(ns, window);
          assert.ok(got.count >= first + span + countLimit);
        }
      },
    ), { numRuns: 300 });
  });
});
