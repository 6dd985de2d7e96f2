/**
 * Contract of host monitoring (migration 0015, schema/store/monitoring.ts), on both stores: a sample
 * is one row carrying the host and all its machines and comes back field for field; windows are
 * [since, until) across hour partitions, newest first, paged without loss or repeat; host_latest is
 * overwritten (nulls included); TTLs expire samples and latest rows while rollups stay; a rollup is
 * one row per (host, hour); bad input is a ValidationError that writes nothing.
 */
import assert from 'node:assert/strict';
import { ValidationError } from '../../errors/registry.js';
import { HOUR_MS, hourOf, type TimeWindow } from '../../schema/store/monitoring.js';
import type { HostRollup, HostSample, MachineSample } from '../../schema/types.js';
import type { StoreFixture } from '../helpers/stores.js';
import { until } from '../helpers/until.js';

const SEC = 1000;
const DAY_MS = 24 * HOUR_MS;
/** An hour start well in the past (rows still live: a TTL runs from the write, not from ts). */
const H0 = Date.UTC(2026, 0, 10, 12);

let seq = 0;
/** A host id of its own for each test (the fixture's bus is shared by the whole contract). */
const hostNamed = (what: string) => `mon-${what}-${(++seq).toString(36)}${Math.random().toString(36).slice(2, 7)}`;

function machine(id: string, over: Partial<MachineSample> = {}): MachineSample {
  return { machineId: id, state: 'running', vcpus: 2, cpuUsed: 0.75, memoryKiB: 524_288, maxMemoryKiB: 1_048_576, ...over };
}

function sample(hostId: string, ts: number, over: Partial<HostSample> = {}): HostSample {
  return {
    hostId, ts, intervalMs: 10 * SEC, cpus: 16, memoryKiB: 32 * 1_048_576, guestCpuUsed: 1.5, guestMemoryKiB: 1_048_576, load1: 0.42,
    domains: { running: 2, shutoff: 1 }, machines: [machine('m-a'), machine('m-b', { cpuUsed: null, state: 'paused' })], ...over,
  };
}

function rollup(hostId: string, hour: number, over: Partial<HostRollup> = {}): HostRollup {
  return {
    hostId, hour, samples: 360, firstTs: hour * HOUR_MS, lastTs: hour * HOUR_MS + 3_590 * SEC, cpus: 16, memoryKiB: 32 * 1_048_576,
    guestCpuUsed: { min: 0.1, avg: 0.8, max: 1.9 }, guestMemoryKiB: { min: 1_000, avg: 1_500.5, max: 2_000 }, load1: null,
    machines: [
      { machineId: 'm-a', samples: 360, cpuUsed: { min: 0, avg: 0.4, max: 1 }, memoryKiB: { min: 512, avg: 512, max: 512 } },
      { machineId: 'm-b', samples: 12, cpuUsed: null, memoryKiB: { min: 0, avg: 100, max: 256 } },
    ],
    ...over,
  };
}

async function allPages<T>(read: (pageState: string | null) => Promise<{ items: T[]; pageState: string | null }>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pageState: string | null = null;
  let pages = 0;
  do {
    const page = await read(pageState);
    items.push(...page.items);
    pageState = page.pageState;
    pages++;
    assert.ok(pages < 1000, 'paging ends');
  } while (pageState);
  return { items, pages };
}

export function monitoringContract(fx: () => StoreFixture): void {
  const mon = () => fx().store.monitoring;
  const sampleRows = (hostId: string) => fx().raw('host_samples', 'host_id = ?', [hostId]);

  describe('samples', () => {
    it('a sample round-trips every field, its machines and its unknown values, as ONE row', async () => {
      const h = hostNamed('rt');
      const known = sample(h, H0 + 5 * SEC);
      const unknown = sample(h, H0 + 15 * SEC, { guestCpuUsed: null, load1: null, domains: {}, machines: [machine('m-c', { cpuUsed: null, memoryKiB: 0, state: 'shutoff' })] });
      const empty = sample(h, H0 + 25 * SEC, { machines: [], guestCpuUsed: 0, load1: 0 });
      for (const s of [known, unknown, empty]) await mon().putSample(s);
      const back = await mon().samples(h, { since: H0, until: H0 + HOUR_MS });
      assert.deepEqual(back.items, [empty, unknown, known]);
      assert.equal(back.pageState, null);
      const rows = await sampleRows(h);
      assert.equal(rows.length, 3, 'one row per sample, whatever the number of machines');
      const row = rows.find((r) => r.ts === unknown.ts)!;
      assert.equal(row.hour, hourOf(unknown.ts));
      assert.equal(row.load1, null);
      assert.equal(row.guest_cpu_used, null);
      assert.deepEqual(JSON.parse(row.machines as string), [{ id: 'm-c', state: 'shutoff', vcpus: 2, memKiB: 0, maxMemKiB: 1_048_576 }], 'unknown values are left out of the JSON');
    });

    it('a window is [since, until), newest first, across an hour boundary (two partitions)', async () => {
      const h = hostNamed('win');
      const times = [-20, -10, 0, 10, 20].map((s) => H0 + s * SEC);
      for (const ts of times) await mon().putSample(sample(h, ts));
      const ts = async (w: TimeWindow) => (await mon().samples(h, w)).items.map((s) => s.ts);
      assert.deepEqual(await ts({ since: H0 - 10 * SEC, until: H0 + 20 * SEC }), [H0 + 10 * SEC, H0, H0 - 10 * SEC]);
      assert.deepEqual(await ts({ since: H0 - 10 * SEC + 1, until: H0 + 20 * SEC + 1 }), [H0 + 20 * SEC, H0 + 10 * SEC, H0]);
      assert.deepEqual(await ts({ since: H0 - 30 * SEC, until: H0 }), [H0 - 10 * SEC, H0 - 20 * SEC], 'until is exclusive, even at the hour start');
      assert.deepEqual(await ts({ since: H0, until: H0 + 1 }), [H0]);
      assert.deepEqual(await ts({ since: H0 + 1, until: H0 + 10 * SEC }), []);
      assert.deepEqual(await ts({ since: H0 - HOUR_MS, until: H0 + HOUR_MS }), [...times].reverse());
      const partitions = new Set((await sampleRows(h)).map((r) => r.hour));
      assert.deepEqual([...partitions].sort(), [hourOf(H0) - 1, hourOf(H0)]);
    });

    it('paging with limit and page state gives every row once, in order, whatever the page size', async function () {
      this.timeout(60_000);
      const h = hostNamed('page');
      // Hours H0-2 and H0 have samples, H0-1 none (an empty partition inside the window).
      const times = [...Array.from({ length: 6 }, (_, i) => H0 - 2 * HOUR_MS + i * 10 * 60 * SEC), ...Array.from({ length: 7 }, (_, i) => H0 + i * 5 * 60 * SEC)];
      for (const ts of times) await mon().putSample(sample(h, ts));
      const expected = [...times].sort((a, b) => b - a);
      const w = { since: H0 - 3 * HOUR_MS, until: H0 + HOUR_MS };
      for (const limit of [1, 2, 5, 6, 7, 13, 100]) {
        const { items, pages } = await allPages((pageState) => mon().samples(h, w, { limit, pageState }));
        assert.deepEqual(items.map((s) => s.ts), expected, `limit ${limit}`);
        assert.ok(pages >= Math.ceil(expected.length / limit), `limit ${limit}: pages of at most ${limit}`);
      }
      const first = await mon().samples(h, w, { limit: 4 });
      assert.equal(first.items.length, 4);
      assert.ok(first.pageState);
    });

    it("a machine's samples are its entries in the host's rows, skipping rows where it is absent", async () => {
      const h = hostNamed('mach');
      const t = (i: number) => H0 - 20 * SEC + i * 10 * SEC;
      await mon().putSample(sample(h, t(0), { machines: [machine('m-a', { cpuUsed: 0.1 }), machine('m-x')] }));
      await mon().putSample(sample(h, t(1), { machines: [machine('m-x')] }));
      await mon().putSample(sample(h, t(2), { machines: [machine('m-a', { cpuUsed: null }), machine('m-x')] }));
      await mon().putSample(sample(h, t(3), { machines: [] }));
      await mon().putSample(sample(h, t(4), { machines: [machine('m-a', { cpuUsed: 1.25, state: 'paused' })] }));
      const points = await mon().machineSamples(h, 'm-a', { since: t(0), until: t(5) });
      assert.deepEqual(points.items, [
        { ts: t(4), intervalMs: 10 * SEC, machine: machine('m-a', { cpuUsed: 1.25, state: 'paused' }) },
        { ts: t(2), intervalMs: 10 * SEC, machine: machine('m-a', { cpuUsed: null }) },
        { ts: t(0), intervalMs: 10 * SEC, machine: machine('m-a', { cpuUsed: 0.1 }) },
      ]);
      assert.deepEqual((await mon().machineSamples(h, 'm-x', { since: t(0), until: t(5) })).items.map((p) => p.ts), [t(2), t(1), t(0)]);
      assert.deepEqual((await mon().machineSamples(h, 'm-nobody', { since: t(0), until: t(5) })).items, []);
      const { items } = await allPages((pageState) => mon().machineSamples(h, 'm-a', { since: t(0), until: t(5) }, { limit: 2, pageState }));
      assert.deepEqual(items.map((p) => p.ts), [t(4), t(2), t(0)], 'paged: each point once');
    });

    it("an hour's samples are that partition only, newest first", async () => {
      const h = hostNamed('hour');
      for (const ts of [H0 - SEC, H0, H0 + 30 * SEC, H0 + HOUR_MS]) await mon().putSample(sample(h, ts));
      assert.deepEqual((await mon().hourSamples(h, hourOf(H0))).map((s) => s.ts), [H0 + 30 * SEC, H0]);
      assert.deepEqual(await mon().hourSamples(h, hourOf(H0) - 5), []);
    });
  });

  describe('latest', () => {
    it('putLatest overwrites: the last written comes back, and a null does not keep the old value', async () => {
      const h = hostNamed('latest');
      assert.equal(await mon().latest(h), null);
      const first = sample(h, H0, { load1: 3.5, guestCpuUsed: 2.25 });
      await mon().putLatest(first);
      assert.deepEqual(await mon().latest(h), first);
      const second = sample(h, H0 + 10 * SEC, { load1: null, guestCpuUsed: null, domains: { running: 1 }, machines: [machine('m-z', { cpuUsed: null })] });
      await mon().putLatest(second);
      assert.deepEqual(await mon().latest(h), second);
      const rows = await fx().raw('host_latest', 'host_id = ?', [h]);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.load1, null, 'the null was written, not left out');
      assert.equal(rows[0]!.guest_cpu_used, null);
      assert.equal(rows[0]!.ts, second.ts);
    });

    it('latestAll and latestPage give one row per host, its last written', async () => {
      const hosts = [hostNamed('fleet'), hostNamed('fleet'), hostNamed('fleet')];
      for (const [i, h] of hosts.entries()) {
        await mon().putLatest(sample(h, H0 + i * SEC));
        await mon().putLatest(sample(h, H0 + i * SEC + 10 * SEC, { load1: i }));
      }
      const mine = (xs: HostSample[]) => xs.filter((s) => hosts.includes(s.hostId)).sort((a, b) => a.ts - b.ts);
      const expected = hosts.map((h, i) => sample(h, H0 + i * SEC + 10 * SEC, { load1: i }));
      assert.deepEqual(mine(await mon().latestAll()), expected);
      const { items } = await allPages((pageState) => mon().latestPage({ limit: 2, pageState }));
      assert.deepEqual(mine(items), expected);
      assert.equal(new Set(items.map((s) => s.hostId)).size, items.length, 'no host twice');
    });
  });

  describe('TTL', () => {
    it('samples and latest rows written with a short TTL expire; a rollup with the default TTL stays', async function () {
      this.timeout(60_000);
      const h = hostNamed('ttl');
      const ts = Date.now();
      // 3 s: Cassandra counts expiry in whole seconds, so a 1 s TTL can be gone before the first read.
      await mon().putSample(sample(h, ts), { ttlSeconds: 3 });
      await mon().putLatest(sample(h, ts), { ttlSeconds: 3 });
      await mon().putRollup(rollup(h, hourOf(ts) - 1, { load1: { min: 0, avg: 0.5, max: 1 } }));
      const w = { since: ts - HOUR_MS, until: ts + 1 };
      assert.equal((await mon().samples(h, w)).items.length, 1);
      assert.ok(await mon().latest(h));
      await until('the sample and the latest row to expire', 30_000, async () => {
        fx().purgeExpired();
        return (await mon().samples(h, w)).items.length === 0 && (await mon().latest(h)) === null
          && (await sampleRows(h)).length === 0 && (await fx().raw('host_latest', 'host_id = ?', [h])).length === 0;
      }, 250);
      assert.equal((await mon().latestAll()).some((s) => s.hostId === h), false);
      const kept = await mon().rollup(h, hourOf(ts) - 1);
      assert.deepEqual(kept, rollup(h, hourOf(ts) - 1, { load1: { min: 0, avg: 0.5, max: 1 } }), 'rollups outlive the raw samples');
    });
  });

  describe('rollups', () => {
    it('a rollup written twice for one (host, hour) is ONE row with the second content', async () => {
      const h = hostNamed('roll');
      const hour = hourOf(H0);
      const a = rollup(h, hour, { load1: { min: 0.5, avg: 1, max: 2 } });
      const b = rollup(h, hour, { samples: 361, guestCpuUsed: null, load1: null, machines: [{ machineId: 'm-a', samples: 361, cpuUsed: null, memoryKiB: { min: 1, avg: 2, max: 3 } }] });
      await mon().putRollup(a);
      assert.deepEqual(await mon().rollup(h, hour), a);
      await mon().putRollup(b);
      assert.deepEqual(await mon().rollup(h, hour), b, 'nulls of the rewrite replace the first values');
      const rows = await fx().raw('host_rollups', 'host_id = ?', [h]);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.samples, 361);
      assert.equal(rows[0]!.load_avg, null);
      assert.equal(await mon().rollup(h, hour + 1), null);
    });

    it('rollups(window) gives the hours starting in [since, until), newest first, across a day boundary', async () => {
      const h = hostNamed('days');
      const midnight = Date.UTC(2026, 0, 11);
      const m = hourOf(midnight);
      const hours = [m - 3, m - 2, m - 1, m, m + 1, m + 2];
      for (const hour of hours) await mon().putRollup(rollup(h, hour));
      const got = async (w: TimeWindow) => (await mon().rollups(h, w)).map((r) => r.hour);
      assert.deepEqual(await got({ since: (m - 2) * HOUR_MS, until: (m + 2) * HOUR_MS }), [m + 1, m, m - 1, m - 2]);
      assert.deepEqual(await got({ since: (m - 2) * HOUR_MS + 1, until: (m + 2) * HOUR_MS + 1 }), [m + 2, m + 1, m, m - 1], 'an hour starting before since is out');
      assert.deepEqual(await got({ since: midnight - DAY_MS, until: midnight + DAY_MS }), [...hours].reverse());
      assert.deepEqual(await got({ since: midnight + 1, until: midnight + HOUR_MS }), []);
      const rows = await fx().raw('host_rollups', 'host_id = ?', [h]);
      assert.equal(new Set(rows.map((r) => r.day)).size, 2, 'two day partitions');
      const full = await mon().rollups(h, { since: midnight - DAY_MS, until: midnight + DAY_MS });
      assert.deepEqual(full[0], rollup(h, m + 2));
    });
  });

  describe('bad input', () => {
    it('bad windows are ValidationErrors', async () => {
      const h = hostNamed('badw');
      const bad: TimeWindow[] = [
        { since: H0, until: H0 }, { since: H0, until: H0 - 1 }, { since: Number.NaN, until: H0 }, { since: H0, until: H0 + 0.5 },
      ];
      for (const w of bad) {
        await assert.rejects(mon().samples(h, w), ValidationError, JSON.stringify(w));
        await assert.rejects(mon().machineSamples(h, 'm-a', w), ValidationError, JSON.stringify(w));
        await assert.rejects(mon().rollups(h, w), ValidationError, JSON.stringify(w));
      }
      await assert.rejects(mon().samples(h, { since: H0, until: H0 + 2 * DAY_MS + 1 }), ValidationError, 'longer than the samples are kept');
      await mon().samples(h, { since: H0, until: H0 + 2 * DAY_MS }); // the longest allowed
      await assert.rejects(mon().rollups(h, { since: H0, until: H0 + 91 * DAY_MS + 1 }), ValidationError);
      await assert.rejects(mon().samples(h, { since: H0, until: H0 + 1 }, { limit: 0 }), ValidationError);
      await assert.rejects(mon().samples(h, { since: H0, until: H0 + 1 }, { pageState: '99999999999:' }), ValidationError);
      await assert.rejects(mon().samples(h, { since: H0, until: H0 + 1 }, { pageState: 'garbage' }), ValidationError);
      await assert.rejects(mon().hourSamples(h, 0), ValidationError);
      await assert.rejects(mon().hourSamples(h, 1.5), ValidationError);
    });

    it('bad host ids are ValidationErrors on every call', async () => {
      const w = { since: H0, until: H0 + 1 };
      for (const id of ['', 'has space', 'x'.repeat(129), 'semi;colon']) {
        await assert.rejects(mon().putSample(sample(id, H0)), ValidationError, id);
        await assert.rejects(mon().putLatest(sample(id, H0)), ValidationError, id);
        await assert.rejects(mon().putRollup(rollup(id, hourOf(H0))), ValidationError, id);
        await assert.rejects(mon().latest(id), ValidationError, id);
        await assert.rejects(mon().samples(id, w), ValidationError, id);
        await assert.rejects(mon().machineSamples(id, 'm', w), ValidationError, id);
        await assert.rejects(mon().hourSamples(id, hourOf(H0)), ValidationError, id);
        await assert.rejects(mon().rollup(id, hourOf(H0)), ValidationError, id);
        await assert.rejects(mon().rollups(id, w), ValidationError, id);
      }
    });

    it('malformed samples are ValidationErrors and write no row, not even half of one', async () => {
      const h = hostNamed('bads');
      const broken: [string, Partial<HostSample>][] = [
        ['ts 0', { ts: 0 }], ['fractional ts', { ts: H0 + 0.5 }], ['interval 0', { intervalMs: 0 }], ['fractional interval', { intervalMs: 1.5 }],
        ['negative cpus', { cpus: -1 }], ['fractional memory', { memoryKiB: 1.5 }], ['NaN guest cpu', { guestCpuUsed: Number.NaN }],
        ['negative guest memory', { guestMemoryKiB: -1 }], ['infinite load', { load1: Number.POSITIVE_INFINITY }], ['negative load', { load1: -0.1 }],
        ['negative domain count', { domains: { running: -1 } }],
        ['machine twice', { machines: [machine('m-a'), machine('m-a')] }], ['machine without id', { machines: [machine('')] }],
        ['machine id too long', { machines: [machine('m'.repeat(129))] }], ['machine without state', { machines: [machine('m-a', { state: '' })] }],
        ['negative machine cpu', { machines: [machine('m-a', { cpuUsed: -1 })] }], ['machine NaN cpu', { machines: [machine('m-a', { cpuUsed: Number.NaN })] }],
        ['fractional vcpus', { machines: [machine('m-a', { vcpus: 1.5 })] }], ['negative machine memory', { machines: [machine('m-a', { memoryKiB: -5 })] }],
        ['machines not a list', { machines: null as unknown as MachineSample[] }], ['domains not a map', { domains: null as unknown as Record<string, number> }],
        ['machine not an object', { machines: [null as unknown as MachineSample] }],
      ];
      for (const [what, over] of broken) {
        const s = sample(h, H0, over);
        await assert.rejects(mon().putSample(s), ValidationError, `putSample: ${what}`);
        await assert.rejects(mon().putLatest(s), ValidationError, `putLatest: ${what}`);
      }
      assert.deepEqual(await sampleRows(h), []);
      assert.deepEqual(await fx().raw('host_latest', 'host_id = ?', [h]), []);
      assert.equal(await mon().latest(h), null);
    });

    it('malformed rollups are ValidationErrors and write nothing', async () => {
      const h = hostNamed('badr');
      const hour = hourOf(H0);
      const broken: [string, Partial<HostRollup>][] = [
        ['hour 0', { hour: 0, firstTs: 0, lastTs: 1 }], ['first sample before the hour', { firstTs: hour * HOUR_MS - 1 }],
        ['last sample after the hour', { lastTs: (hour + 1) * HOUR_MS }], ['last before first', { firstTs: hour * HOUR_MS + 10, lastTs: hour * HOUR_MS + 5 }],
        ['avg above max', { guestCpuUsed: { min: 0, avg: 2, max: 1 } }], ['min above avg', { load1: { min: 1, avg: 0.5, max: 2 } }],
        ['NaN memory', { guestMemoryKiB: { min: Number.NaN, avg: 1, max: 2 } }], ['negative samples', { samples: -1 }],
        ['machine avg above max', { machines: [{ machineId: 'm-a', samples: 1, cpuUsed: { min: 0, avg: 3, max: 1 }, memoryKiB: { min: 1, avg: 1, max: 1 } }] }],
      ];
      for (const [what, over] of broken) await assert.rejects(mon().putRollup(rollup(h, hour, over)), ValidationError, what);
      assert.deepEqual(await fx().raw('host_rollups', 'host_id = ?', [h]), []);
    });
  });
}
