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
      async (raw, pageSize, first, span, orderBy, filterSrc) => {
        const items: Item[] = raw.map((r, n) => ({ ...r, n }));
        const filter = filterSrc ? parseFilter(filterSrc) : null;
        const q: CollectionQuery = { filter, orderBy, first, last: first + span, select: null };
        const got = await runCollectionQuery(paged(items, pageSize), q);
        const matching = items.filter((i) => !filter || evalFilter(filter, i));
        const sorted = orderBy.length ? [...matching].sort((a, b) => compareBy(orderBy, a, b) || a.n - b.n) : matching;
        assert.equal(got.count, matching.length);
        assert.deepEqual(got.members.map((m) => m.n), sorted.slice(first - 1, first + span).map((m) => m.n));
      },
    ), { numRuns: 300 });
  });
});
