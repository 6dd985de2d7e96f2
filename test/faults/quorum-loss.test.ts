/**
 * Issue 10, Cassandra faults: two of three nodes die (RF=3, QUORUM: no quorum left). While they are
 * down every request that needs the bus is a clear 503 with Retry-After (never a 500, never a hang,
 * never an acknowledged change that is then lost), agents keep their guests running, and when the
 * nodes return everything resumes by itself: creates are accepted again, pending work converges, and
 * the rows are whole (every machine has its tenant index row; claims equal placed machines).
 * Prints the figures the closing note reports. Run by `npm test` on the ring
 * scripts/cassandra/ctl.sh --cluster starts (SKYBUS_FAULTS=1); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { killNode, startRing } from '../helpers/fault-ring.js';
import { faultStack, rowsWhole, sampleEvery, type CallResult, type FaultStack } from '../helpers/fault-stack.js';
import { until } from '../helpers/until.js';

const ACTION = 'http://schemas.dmtf.org/cimi/1/Action';
const STOP = 'http://schemas.dmtf.org/cimi/1/action/stop';

describe('faults: two Cassandra nodes of three die, then return', function () {
  this.timeout(900_000);
  let s: FaultStack;

  before(async function () {
    if (process.env.SKYBUS_FAULTS !== '1') this.skip(); // needs the three-node ring (npm test starts it)
    await startRing(); // an earlier fault test may have left a node down
    s = await faultStack('quorum');
  });
  after(async () => { await s?.cleanup(); });

  it('503 + Retry-After for every request while quorum is gone, guests keep running, 0 acknowledged changes lost, recovery by itself', async () => {
    const createBody = (name: string) => ({ name, machineTemplate: { href: s.template } });
    const before: { url: string; job: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await s.call('POST', '/api/machines', createBody(`pre-${i}`));
      assert.equal(r.status, 202, JSON.stringify(r.body));
      before.push({ url: r.headers.get('location')!, job: r.headers.get('cimi-job-uri')! });
    }
    await s.jobsDone(before.map((m) => m.job));
    const running = async () => (await s.domains()).filter((d) => d.state === 'running').length;
    assert.equal(await running(), 4);

    let minRunning = Infinity;
    const sampler = sampleEvery(250, async () => { minRunning = Math.min(minRunning, await running()); });

    await killNode('node2');
    await killNode('node3');
    const killedAt = Date.now();

    // 20 s of a steady mix while no quorum exists: create, stop, delete, read.
    const outcomes: { op: string; status: number; retryAfter: string | null; ms: number; url?: string }[] = [];
    for (let i = 0; Date.now() - killedAt < 20_000; i++) {
      const ops: [string, () => Promise<CallResult>][] = [
        ['create', () => s.call('POST', '/api/machines', createBody(`during-${i}`))],
        ['stop', () => s.call('POST', `${before[0].url}/stop`, { resourceURI: ACTION, action: STOP })],
        ['delete', () => s.call('DELETE', before[1].url)],
        ['read', () => s.call('GET', before[2].url)],
      ];
      const [op, fn] = ops[i % ops.length];
      const r = await fn();
      outcomes.push({ op, status: r.status, retryAfter: r.headers.get('retry-after'), ms: r.ms, url: r.headers.get('location') ?? undefined });
    }
    const byStatus: Record<string, number> = {};
    for (const o of outcomes) byStatus[`${o.op} ${o.status}`] = (byStatus[`${o.op} ${o.status}`] ?? 0) + 1;
    console.log(`    quorum lost: ${outcomes.length} requests in 20 s: ${JSON.stringify(byStatus)}; slowest answer ${Math.max(...outcomes.map((o) => o.ms))} ms`);
    for (const o of outcomes) {
      assert.ok(o.status === 503 || (o.status >= 200 && o.status < 300), `${o.op}: ${o.status}`);
      if (o.status === 503) assert.ok(Number(o.retryAfter) >= 1, `${o.op}: 503 without Retry-After`);
    }
    assert.ok(outcomes.filter((o) => o.status === 503).length >= outcomes.length * 0.9, JSON.stringify(byStatus));

    // The guests must keep running while the bus is gone. Sampling stops before the ring returns:
    // a stop or delete answered 503 from a write timeout may still have reached the live node (its
    // outcome is unknown, as the 503 says), and the agent may then act on it once it reads again.
    await sampler.stop();
    const restartAt = Date.now();
    await startRing();
    const ringUpAt = Date.now();
    const after = await until('a create accepted again', 120_000, async () => {
      const r = await s.call('POST', '/api/machines', createBody('after'));
      return r.status === 202 ? { url: r.headers.get('location')!, job: r.headers.get('cimi-job-uri')! } : null;
    }, 250);
    const acceptedAt = Date.now();
    const stop = await s.call('POST', `${before[3].url}/stop`, { resourceURI: ACTION, action: STOP });
    assert.equal(stop.status, 202, JSON.stringify(stop.body));
    await s.jobsDone([after.job, stop.headers.get('cimi-job-uri')!]);
    const convergedAt = Date.now();
    console.log(`    recovery: ring restarted in ${((ringUpAt - restartAt) / 1000).toFixed(1)} s; first create accepted ${((acceptedAt - ringUpAt) / 1000).toFixed(1)} s after the ring was up; a new machine STARTED and a stop done ${((convergedAt - ringUpAt) / 1000).toFixed(1)} s after; fewest guests running at any sample while quorum was gone: ${minRunning} of 4`);
    assert.equal(minRunning, 4, 'agents kept every guest running while the bus was gone');

    const acked = outcomes.filter((o) => o.status >= 200 && o.status < 300 && o.op === 'create');
    for (const o of acked) assert.equal((await s.call('GET', o.url!)).status, 200, `acknowledged create ${o.url} was lost`);
    console.log(`    acknowledged during the outage: ${outcomes.filter((o) => o.status < 300).length}, lost: 0`);
    let problem: string | null = 'not checked';
    await until('rows whole after the resync', 60_000, async () => (problem = await rowsWhole(s.store, 'ops')) === null, 1000)
      .catch(() => assert.fail(problem ?? 'rows not whole'));
  });
});
