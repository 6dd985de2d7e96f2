/**
 * Issue 10, bad input at volume: the API fuzzer (test/helpers/api-fuzzer.ts) with a fixed seed and a
 * bounded count. A larger run: `node dist/bench/api-fuzz.js [cases] [seed]` (bench/README.md).
 */
import assert from 'node:assert/strict';
import { fuzzFixture, runApiFuzz } from '../../helpers/api-fuzzer.js';
import { ed25519PublicKey } from '../../helpers/ssh-keys.js';
import { as, footprint, harness, type Harness } from './harness.js';

describe('API fuzzer: random methods, paths, headers and bodies as two tenants, an admin and strangers (issue 10)', function () {
  this.timeout(300_000);
  let h: Harness;
  before(async () => { h = await harness(); });
  after(async () => { await h.cleanup(); });

  it('found by the fuzzer: a malformed Host header is a 400 before any work (the delete used to happen, then the answer failed)', async () => {
    const m = await as(h.app, 'bob', 'post', '/api/machines').send({ name: 'host', machineTemplate: { href: `/api/machineTemplates/${h.catalog.template}` } }).expect(202);
    const path = new URL(m.headers.location).pathname;
    const before = await footprint(h.store, 'globex');
    const r = await as(h.app, 'bob', 'delete', path).set('Host', 'a b').expect(400);
    assert.match(r.body.message, /Host header/);
    assert.deepEqual(await footprint(h.store, 'globex'), before);
    assert.equal((await as(h.app, 'bob', 'get', path).expect(200)).body.state, 'CREATING');
  });

  it('0 responses 5xx, every 4xx a CIMI error, 0 state changes from rejected requests, responsive after', async () => {
    const ids = await fuzzFixture(h, ed25519PublicKey('fuzz@test'));
    const r = await runApiFuzz(h, ids, { seed: 100_010, numRuns: 1000 });
    console.log(`    api-fuzz: ${r.cases} cases, statuses ${JSON.stringify(r.statuses)}`);
    assert.deepEqual(r.serverErrors, []);
    assert.deepEqual(r.notCimiErrors, []);
    assert.deepEqual(r.rejectedThatChangedState, []);
    assert.equal(r.responsiveAfter, true);
    const accepted = Object.entries(r.statuses).filter(([s]) => Number(s) < 300).reduce((a, [, n]) => a + n, 0);
    assert.ok(accepted >= 30, `the fuzzer must also reach the routes' success paths (${accepted} 2xx)`);
  });
});
