/**
 * How long the agent waits for libvirt (docs/lifecycle.md, "Deadlines"). A libvirt call cannot be
 * cancelled once the binding has handed it to its worker thread, so a call that hangs is raced with a
 * timer instead: the cycle stops waiting for it, the action fails with "libvirt <call> on host <id>
 * did not return within N s", and no other call is started on that domain until the hung one
 * returns (two calls racing on one domain, e.g. a start still in flight and a destroy, would leave
 * its state to chance). When the call does return, whatever followed it in the same action (the
 * rename after a save) still runs, and the next cycle observes and decides again.
 *
 * The cycle also stops waiting when the safe part of the host lease runs out first (budgetMs): the
 * call is then still pending, not failed, and is judged on a later cycle by its own age.
 */
import type { Logger } from '../observability/logger.js';
import { errorText } from './error-text.js';

/** A call in flight that the agent stopped waiting for. */
export interface OutstandingCall {
  /** The libvirt call (virDomainCreate, ...) the action was making when the wait ended. */
  call: string;
  /** The agent action it belongs to (start, shutdown, ...), or a read (lookup, listDomains). */
  action: string;
  /** When it was started (Date.now: measured on this process's own clock). */
  since: number;
  /** Settles (never rejects) once the call has returned and is no longer outstanding. */
  done?: Promise<void>;
  /** Set when a wait of the full timeout ended without an answer: hung from then on, whatever the wall clock says. */
  hung?: boolean;
}

/** The call did not return within the timeout (it may still return later). */
export class LibvirtCallHung extends Error {}
/** The wait was cut short by the cycle's budget before the timeout: no outcome yet. */
export class LibvirtCallPending extends Error {}
/** A call on the same domain is still outstanding: nothing else is started on it. */
export class LibvirtCallBusy extends Error {}

export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

export class LibvirtCallGuard {
  private readonly outstanding = new Map<string, OutstandingCall>();

  constructor(private readonly hostId: string, readonly timeoutMs: number, private readonly log: Logger) {}

  /** The call still outstanding on this key (a machine id; '(connection)' for host-wide calls). */
  outstandingOn(key: string): OutstandingCall | undefined {
    return this.outstanding.get(key);
  }

  /** Stop tracking a key's outstanding call (its connection was closed: it will never be waited for). */
  forget(key: string): void {
    this.outstanding.delete(key);
  }

  /**
   * Wait (at most budgetMs, and no longer than the rest of its timeout) for the call outstanding on
   * this key to return. True when there was one and it has returned: what was observed before it
   * may be stale.
   */
  async waitFor(key: string, budgetMs: number): Promise<boolean> {
    const o = this.outstanding.get(key);
    if (!o?.done || o.hung) return false;
    const rest = Math.max(0, this.timeoutMs - (Date.now() - o.since));
    const wait = Math.min(budgetMs, rest);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), wait); });
    const r = await Promise.race([o.done.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (r === 'timeout' && wait >= rest) o.hung = true; // waited out the rest of its timeout
    return r === 'done';
  }

  /** An outstanding call has been running for the whole timeout (or longer). */
  isHung(o: OutstandingCall): boolean {
    // A timer may fire a millisecond before Date.now() shows the full timeout: the flag set when the
    // full wait ended decides, the clock only for waits that were cut short.
    return o.hung === true || Date.now() - o.since >= this.timeoutMs;
  }

  hungMessage(o: OutstandingCall): string {
    return `libvirt ${o.call} on host ${this.hostId} did not return within ${seconds(this.timeoutMs)}`;
  }

  /**
   * Run fn (which names each libvirt call it makes with step() just before making it), waiting at
   * most the timeout, or budgetMs when that is shorter. Throws LibvirtCallHung / LibvirtCallPending
   * when the wait ends first, LibvirtCallBusy when the key still has a call outstanding.
   */
  async run<T>(key: string, action: string, fn: (step: (call: string) => void) => Promise<T>, budgetMs = Infinity): Promise<T> {
    const busy = this.outstanding.get(key);
    if (busy) {
      const what = this.isHung(busy) ? this.hungMessage(busy) : `libvirt ${busy.call} on host ${this.hostId} is still running`;
      throw new LibvirtCallBusy(`${what}; no other call is made on it until it returns`);
    }
    const o: OutstandingCall = { call: action, action, since: Date.now() };
    const p = fn((call) => { o.call = call; });
    const wait = Math.max(0, Math.min(this.timeoutMs, budgetMs));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), wait); });
    const outcome = await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), timedOut]);
    clearTimeout(timer);
    if (outcome !== 'timeout') {
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    }
    this.outstanding.set(key, o);
    o.done = p.then(
      () => this.log.info({ key, call: o.call, action, tookMs: Date.now() - o.since }, 'a libvirt call the agent stopped waiting for has returned'),
      (e) => this.log.warn({ key, call: o.call, action, tookMs: Date.now() - o.since, err: errorText(e) }, 'a libvirt call the agent stopped waiting for has failed'),
    ).finally(() => { if (this.outstanding.get(key) === o) this.outstanding.delete(key); });
    if (wait >= this.timeoutMs || this.isHung(o)) {
      o.hung = true;
      this.log.warn({ key, call: o.call, action, timeoutMs: this.timeoutMs }, 'libvirt call did not return in time');
      throw new LibvirtCallHung(this.hungMessage(o));
    }
    throw new LibvirtCallPending(`libvirt ${o.call} on host ${this.hostId} is still running`);
  }
}
