/**
 * The driver retry policy (schema/cassandra-retry.ts). The case CI found: a lightweight transaction
 * refused as Unavailable during a partition reports the SERIAL phase's consistency; retrying "at" it
 * made the driver send LOCAL_SERIAL as the commit consistency, which Cassandra rejects as invalid.
 */
import assert from 'node:assert/strict';
import cassandra from 'cassandra-driver';
import { SkybusRetryPolicy } from '../../../schema/cassandra-retry.js';

const { consistencies } = cassandra.types;
const decisions = (cassandra.policies.retry.RetryPolicy as unknown as { retryDecision: { retry: number; rethrow: number } }).retryDecision;
const info = (idempotent: boolean, nbRetry = 0) => ({ nbRetry, query: '', handler: null, request: null, executionOptions: { isIdempotent: () => idempotent } }) as never;

describe('cassandra retry policy', () => {
  const p = new SkybusRetryPolicy();
  it('retries an Unavailable lightweight transaction on the next host with its own consistency, never the SERIAL phase\'s', () => {
    const d = p.onUnavailable(info(false), consistencies.localSerial, 2, 1 as never);
    assert.equal(d.decision, decisions.retry);
    assert.equal(d.consistency, undefined, 'undefined: the driver keeps the statement\'s consistency');
    assert.equal((d as { useCurrentHost?: boolean }).useCurrentHost, false);
  });
  it('retries idempotent timeouts at most twice, keeping the consistency; a CAS timeout is rethrown (unknown outcome)', () => {
    const w = p.onWriteTimeout(info(true), consistencies.localQuorum, 1, 2, 'SIMPLE');
    assert.equal(w.decision, decisions.retry);
    assert.equal(w.consistency, undefined);
    assert.equal(p.onWriteTimeout(info(true, 2), consistencies.localQuorum, 1, 2, 'SIMPLE').decision, decisions.rethrow);
    assert.equal(p.onWriteTimeout(info(false), consistencies.localSerial, 1, 2, 'CAS').decision, decisions.rethrow);
    const r = p.onReadTimeout(info(true), consistencies.localQuorum, 1, 2, false);
    assert.equal(r.consistency, undefined);
  });
});
