/**
 * The driver's retry policy for Skybus. The driver's default rethrows a write timeout (unless it is the
 * batch log's) and retries a read timeout only when enough replicas answered without the data. Every
 * plain Skybus statement is idempotent (an upsert of explicit values, a delete, a read: marked
 * `isIdempotent`), so repeating it is safe: a write or read that timed out at its coordinator — the
 * usual cost of a node going down or coming back, before the ring has marked it — is retried once
 * on the next host (twice at most) instead of becoming a 503. That includes SERIAL reads, whose
 * Paxos round reports a timeout as a CAS write timeout: a read has no effect of its own to repeat.
 * Lightweight transactions are marked not idempotent and keep the default (a CAS timeout is an
 * unknown outcome the caller resolves by reading).
 */
import cassandra from 'cassandra-driver';

/**
 * A retry keeps the statement's own consistency (undefined): the consistency an error reports is the
 * phase that failed, and for a lightweight transaction that is its SERIAL phase — retried "at
 * LOCAL_SERIAL", the driver would send LOCAL_SERIAL as the commit consistency, which Cassandra refuses
 * as an invalid request (what the partition test saw on CI as 400s, then 500s).
 */
const SAME_CONSISTENCY = undefined as unknown as cassandra.types.consistencies;

type Info = Parameters<cassandra.policies.retry.RetryPolicy['onWriteTimeout']>[0] & { executionOptions?: { isIdempotent(): boolean } };

/** Retries of one idempotent statement, each on the next host. */
const MAX_RETRIES = 2;

const idempotent = (info: Info) => info.executionOptions?.isIdempotent?.() === true;

export class SkybusRetryPolicy extends cassandra.policies.retry.RetryPolicy {
  override onWriteTimeout(info: Info, consistency: cassandra.types.consistencies, received: number, blockFor: number, writeType: string): cassandra.policies.retry.DecisionInfo {
    if (idempotent(info) && info.nbRetry < MAX_RETRIES) return this.retryResult(SAME_CONSISTENCY, false);
    return super.onWriteTimeout(info, consistency, received, blockFor, writeType);
  }

  /** Unavailable is refused before anything runs, so even a lightweight transaction may try the next host. */
  override onUnavailable(info: Info, consistency: cassandra.types.consistencies, required: number, alive: boolean): cassandra.policies.retry.DecisionInfo {
    if (info.nbRetry < MAX_RETRIES) return this.retryResult(SAME_CONSISTENCY, false);
    return super.onUnavailable(info, consistency, required, alive);
  }

  override onReadTimeout(info: Info, consistency: cassandra.types.consistencies, received: number, blockFor: number, isDataPresent: boolean): cassandra.policies.retry.DecisionInfo {
    if (idempotent(info) && info.nbRetry < MAX_RETRIES) return this.retryResult(SAME_CONSISTENCY, false);
    return super.onReadTimeout(info, consistency, received, blockFor, isDataPresent);
  }
}
