/**
 * Issue 10, Cassandra faults: a rolling restart of all three nodes (each stopped as an operator
 * would, SIGTERM, then started again and waited for) under a steady create / stop / delete load.
 * 0 acknowledged requests lost, 0 machines running twice, 0 double claims, >= 99 % of requests 2xx
 * and the rest a 503 with Retry-After. Prints the figures. Run by `npm test` on the fault ring
 * (SKYBUS_FAULTS=1); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { startRing, stopNode } from '../helpers/fault-ring.js';
import { faultStack, rowsWhole, sampleEvery, twoCopies, type FaultStack } from '../helpers/fault-stack.js';
import { SteadyLoad } from '../helpers/steady-load.js';
import { until } from '../helpers/until.js';

describe('faults: a rolling restart of the three Cassandra nodes under load', function () {
  this.timeout(1_200_000);
  let s: FaultStack;

  before(async function () {
    if (process.env.SKYBUS_FAULTS !== '1') this.skip();
    await startRing();
    s = await faultStack('rolling');
  });
  after(async () => { await s?.cleanup(); });

  it('0 acknowledged requests lost, 0 double placements, >= 99 % 2xx, the rest 503 + Retry-After', async () => {
    const load = new SteadyLoad(s.call, s.template, 'roll-');
    let doubles = 0;
    const sampler = sampleEvery(250, async () => { if (twoCopies(await s.domains())) doubles++; });
    load.start(3);
    await new Promise((r) => setTimeout(r, 5000));
    const t0 = Date.now();
    for (const node of ['node1', 'node2', 'node3'] as const) {
      await stopNode(node);
      await new Promise((r) => setTimeout(r, 3000));
      await startRing();
    }
    const restartS = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 5000));
    await load.stop();
    const { lost } = await load.verify();
    await sampler.stop();
    const f = load.figures;
    console.log(`    rolling restart (${restartS.toFixed(0)} s): ${f.requests} requests, ${f.ok} 2xx, ${f.unavailable} 503, ${f.other} other ${JSON.stringify(f.otherSamples)}; acknowledged machines ${load.machines.length}, lost ${lost.length}, changes answered 503 that happened anyway ${load.uncertainApplied}; samples with a machine running twice: ${doubles}; 503 causes ${JSON.stringify(s.unavailableCauses())}`);
    assert.deepEqual(lost, []);
    assert.equal(doubles, 0);
    assert.equal(f.other, 0, `${JSON.stringify(f.otherSamples)}; frontend internal errors: ${s.internalErrors().join('\n')}`);
    assert.equal(f.noRetryAfter, 0);
    assert.ok(f.ok >= f.requests * 0.99, `${f.ok} of ${f.requests} 2xx`);
    let problem: string | null = 'not checked';
    await until('rows whole after the resync', 60_000, async () => (problem = await rowsWhole(s.store, 'ops')) === null, 1000)
      .catch(() => assert.fail(problem ?? 'rows not whole'));
  });
});
