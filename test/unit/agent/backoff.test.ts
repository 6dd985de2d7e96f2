import assert from 'node:assert/strict';
import { actionDue, afterFailure, backoffDelay, type Backoff } from '../../../hypervisor-agent/backoff.js';

const policy = { intervalMs: 1000, maxMs: 300_000 };

describe('agent: back-off of failing actions', () => {
  it('doubles from the cycle interval and is capped', () => {
    assert.deepEqual(backoffDelay(0, policy), { cycles: 0, ms: 0 });
    assert.deepEqual(backoffDelay(1, policy), { cycles: 1, ms: 1000 }, 'the first retry is the next cycle');
    assert.deepEqual(backoffDelay(2, policy), { cycles: 2, ms: 2000 });
    assert.deepEqual(backoffDelay(4, policy), { cycles: 8, ms: 8000 });
    assert.deepEqual(backoffDelay(10, policy), { cycles: 300, ms: 300_000 }, 'capped at maxMs');
    assert.deepEqual(backoffDelay(10_000, policy), { cycles: 300, ms: 300_000 }, 'no overflow');
    assert.deepEqual(backoffDelay(3, { intervalMs: 700, maxMs: 1000 }), { cycles: 2, ms: 1000 });
  });

  it('is due after that many cycles or that much time, whichever comes first', () => {
    assert.equal(actionDue(null, 5, 0, policy), true, 'nothing failed');
    const b: Backoff = { failures: 3, cycle: 10, at: 50_000 }; // wait 4 cycles / 4 s
    assert.equal(actionDue(b, 11, 50_100, policy), false);
    assert.equal(actionDue(b, 13, 53_999, policy), false);
    assert.equal(actionDue(b, 14, 50_200, policy), true, 'quick cycles: by count');
    assert.equal(actionDue(b, 11, 54_000, policy), true, 'slow cycles: by time');
  });

  it('counts failures in a row', () => {
    const b1 = afterFailure(null, 1, 100);
    assert.deepEqual(b1, { failures: 1, cycle: 1, at: 100 });
    const b2 = afterFailure(b1, 2, 200);
    assert.deepEqual(b2, { failures: 2, cycle: 2, at: 200 });
    // attempts over 40 quick cycles: 1, 2, 4, 8, 16, 32
    let b: Backoff | null = null;
    const attempts: number[] = [];
    for (let c = 1; c <= 40; c++) {
      if (!actionDue(b, c, 0, policy)) continue;
      attempts.push(c);
      b = afterFailure(b, c, 0);
    }
    assert.deepEqual(attempts, [1, 2, 4, 8, 16, 32]);
  });
});
