/** Rate-limit counts (migration 0009, rate_usage), part of the store contract: same behaviour on both stores. */
import assert from 'node:assert/strict';
import type { StoreFixture } from '../helpers/stores.js';

export function rateUsageContract(fixture: () => StoreFixture): void {
  it('a frontend overwrites its own slot counts; reads return every frontend\'s slots of the window, across minute partitions', async () => {
    const { store } = fixture();
    const s = `tenant:rate-${Date.now()}`;
    // slots 118..121 straddle the minute boundary at 120
    await store.rateUsage.write(s, 'fe-a', [{ slot: 118, count: 1 }, { slot: 119, count: 2 }]);
    await store.rateUsage.write(s, 'fe-b', [{ slot: 120, count: 5 }]);
    await store.rateUsage.write(s, 'fe-a', [{ slot: 119, count: 4 }, { slot: 121, count: 1 }]);
    const rows = await store.rateUsage.read(s, 119, 121);
    const key = (r: { slot: number; frontend: string }) => `${r.slot}/${r.frontend}`;
    assert.deepEqual(rows.map((r) => `${key(r)}=${r.count}`).sort(), ['119/fe-a=4', '120/fe-b=5', '121/fe-a=1']);
    assert.deepEqual(await store.rateUsage.read(`${s}-other`, 119, 121), []);
    // Nothing to write is no write at all.
    await store.rateUsage.write(s, 'fe-c', []);
    assert.equal((await store.rateUsage.read(s, 100, 180)).length, 4);
  });
}
