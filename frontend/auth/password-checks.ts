/**
 * Password checks with bounded cost. Every check runs scrypt (~60 ms of CPU) on this frontend's own
 * worker threads, never on libuv's thread pool: in the all-in-one process that pool also serves the
 * hypervisor agent's libvirt calls, and a flood of bad logins there once starved the agent until it
 * lost its host lease. At most `workers` checks run and `queue` wait; any further login is refused
 * at once (UnavailableError, 503 with Retry-After) instead of queueing without bound.
 * Workers start on first use and exit after `idleMs` without work.
 */
import { timingSafeEqual } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../../errors/registry.js';
import type { ScryptDone, ScryptJob } from './password-worker.js';
import { MAX_PASSWORD_BYTES, parseHash } from './passwords.js';

export interface PasswordCheckOptions { workers?: number; queue?: number; idleMs?: number }

interface Pending { job: ScryptJob; resolve: (key: Buffer) => void; reject: (e: Error) => void }
interface Slot { worker: Worker; busy: Pending | null; idleTimer: NodeJS.Timeout | null }

export class PasswordChecks {
  private readonly maxWorkers: number;
  private readonly maxQueue: number;
  private readonly idleMs: number;
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  private nextId = 1;
  /** Checks refused because the queue was full (for metrics and tests). */
  refused = 0;

  constructor(opts: PasswordCheckOptions = {}) {
    this.maxWorkers = opts.workers ?? 1;
    this.maxQueue = opts.queue ?? 32;
    this.idleMs = opts.idleMs ?? 10_000;
  }

  /** Checks now running or waiting. */
  get load(): number {
    return this.waiting.length + this.slots.filter((s) => s.busy).length;
  }

  /** Whether pw matches the stored hash; false for a malformed hash. Throws UnavailableError when saturated. */
  async verify(pw: string, stored: string): Promise<boolean> {
    if (typeof pw !== 'string' || Buffer.byteLength(pw) > MAX_PASSWORD_BYTES) return false;
    const h = parseHash(stored);
    if (!h) return false;
    const key = await this.run({ id: 0, password: pw, salt: h.salt, keyLen: h.key.length, n: h.n, r: h.r, p: h.p });
    return key.length === h.key.length && timingSafeEqual(key, h.key);
  }

  private run(job: ScryptJob): Promise<Buffer> {
    const idle = this.slots.find((s) => !s.busy);
    if (!idle && this.slots.length >= this.maxWorkers && this.waiting.length >= this.maxQueue) {
      this.refused++;
      return Promise.reject(new UnavailableError('too many logins are being checked right now; try again shortly', { retryAfterSeconds: 1 }));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const p: Pending = { job: { ...job, id: this.nextId++ }, resolve, reject };
      const slot = idle ?? (this.slots.length < this.maxWorkers ? this.spawn() : null);
      if (slot) this.dispatch(slot, p);
      else this.waiting.push(p);
    });
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./password-worker.js', import.meta.url));
    worker.unref();
    const slot: Slot = { worker, busy: null, idleTimer: null };
    worker.on('message', (m: ScryptDone) => {
      const p = slot.busy;
      slot.busy = null;
      if (p) {
        if (m.key) p.resolve(Buffer.from(m.key));
        else p.reject(new Error(`password check failed: ${m.error ?? 'unknown'}`));
      }
      this.next(slot);
    });
    const fail = (e: Error) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.busy?.reject(e);
      slot.busy = null;
      const p = this.waiting.shift();
      if (p) this.dispatch(this.spawn(), p);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => { if (this.slots.includes(slot)) fail(new Error(`password worker exited (${code})`)); });
    this.slots.push(slot);
    return slot;
  }

  private dispatch(slot: Slot, p: Pending): void {
    if (slot.idleTimer) { clearTimeout(slot.idleTimer); slot.idleTimer = null; }
    slot.busy = p;
    slot.worker.postMessage(p.job);
  }

  private next(slot: Slot): void {
    const p = this.waiting.shift();
    if (p) { this.dispatch(slot, p); return; }
    slot.idleTimer = setTimeout(() => {
      const i = this.slots.indexOf(slot);
      if (i >= 0 && !slot.busy) { this.slots.splice(i, 1); void slot.worker.terminate(); }
    }, this.idleMs);
    slot.idleTimer.unref();
  }

  /** Stops every worker (pending checks fail). */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    for (const p of this.waiting.splice(0)) p.reject(new UnavailableError('the frontend is shutting down'));
    await Promise.all(slots.map(async (s) => { if (s.idleTimer) clearTimeout(s.idleTimer); s.busy?.reject(new UnavailableError('the frontend is shutting down')); await s.worker.terminate(); }));
  }
}
