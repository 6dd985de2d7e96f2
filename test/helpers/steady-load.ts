/**
 * A steady create / stop / delete load through the API for the fault tests, remembering every
 * acknowledged (2xx) request so that, once the fault is over, `verify` can check that none was lost:
 * an acknowledged create exists (STARTED unless stopped or deleted later), an acknowledged stop ends
 * STOPPED, an acknowledged delete ends purged. Also counts machines nobody acknowledged (a request
 * answered 503 whose change happened anyway).
 */
import { until } from './until.js';

type Call = (method: string, url: string, body?: unknown) => Promise<{ status: number; headers: Headers; body: Record<string, unknown> }>;

const ACTION = 'http://schemas.dmtf.org/cimi/1/Action';
const STOP = 'http://schemas.dmtf.org/cimi/1/action/stop';

/** What was acknowledged, and what was answered 503 (which may or may not have happened: the client retries). */
interface Tracked { url: string; stopped: boolean; deleted: boolean; stopUncertain: boolean; deleteUncertain: boolean }

export interface LoadFigures { requests: number; ok: number; unavailable: number; other: number; otherSamples: string[]; noRetryAfter: number }

export class SteadyLoad {
  readonly machines: Tracked[] = [];
  readonly figures: LoadFigures = { requests: 0, ok: 0, unavailable: 0, other: 0, otherSamples: [], noRetryAfter: 0 };
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(private readonly call: Call, private readonly template: string, private readonly prefix: string) {}

  private count(status: number, retryAfter: string | null, what: string): boolean {
    this.figures.requests++;
    if (status >= 200 && status < 300) { this.figures.ok++; return true; }
    if (status === 503) { this.figures.unavailable++; if (!(Number(retryAfter) >= 1)) this.figures.noRetryAfter++; return false; }
    this.figures.other++;
    if (this.figures.otherSamples.length < 10) this.figures.otherSamples.push(`${status} ${what}`);
    return false;
  }

  private async worker(w: number): Promise<void> {
    const mine: Tracked[] = [];
    let n = 0;
    while (this.running) {
      const r = await this.call('POST', '/api/machines', { name: `${this.prefix}${w}-${n++}`, machineTemplate: { href: this.template } });
      if (this.count(r.status, r.headers.get('retry-after'), `create: ${String(r.body.message ?? '').slice(0, 120)}`)) {
        const t: Tracked = { url: r.headers.get('location')!, stopped: false, deleted: false, stopUncertain: false, deleteUncertain: false };
        mine.push(t);
        this.machines.push(t);
      }
      const toStop = mine[mine.length - 2];
      if (toStop && !toStop.stopped && !toStop.deleted) {
        const s = await this.call('POST', `${toStop.url}/stop`, { resourceURI: ACTION, action: STOP });
        // 409: the machine is still starting or already stopping; not a failure of the bus.
        if (s.status === 409) { this.figures.requests++; this.figures.ok++; } else if (this.count(s.status, s.headers.get('retry-after'), `stop: ${String(s.body.message ?? '').slice(0, 120)}`)) toStop.stopped = true;
        else if (s.status === 503) toStop.stopUncertain = true;
      }
      const toDelete = mine[mine.length - 4];
      if (toDelete && !toDelete.deleted) {
        const d = await this.call('DELETE', toDelete.url);
        if (d.status === 409) { this.figures.requests++; this.figures.ok++; } else if (this.count(d.status, d.headers.get('retry-after'), `delete: ${String(d.body.message ?? '').slice(0, 120)}`)) toDelete.deleted = true;
        else if (d.status === 503) toDelete.deleteUncertain = true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  start(workers = 3): void {
    this.running = true;
    this.workers = Array.from({ length: workers }, (_, w) => this.worker(w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** Changes answered 503 that happened anyway (a retrying client would find them done). */
  uncertainApplied = 0;

  /** Waits until every acknowledged change shows; returns the ones lost (never shown in time). */
  async verify(timeoutMs = 180_000): Promise<{ lost: string[] }> {
    const lost: string[] = [];
    const deadline = Date.now() + timeoutMs;
    for (const t of this.machines) {
      try {
        await until(`${t.url} to converge`, Math.max(1000, deadline - Date.now()), async () => {
          const r = await this.call('GET', t.url);
          if (t.deleted) return r.status === 404;
          if (r.status === 404) return t.deleteUncertain;
          if (r.status !== 200) return false;
          if (r.body.state === (t.stopped ? 'STOPPED' : 'STARTED')) return true;
          return t.stopUncertain && r.body.state === 'STOPPED';
        }, 500);
        const now = await this.call('GET', t.url);
        if ((!t.deleted && t.deleteUncertain && now.status === 404) || (!t.stopped && t.stopUncertain && now.body.state === 'STOPPED')) this.uncertainApplied++;
      } catch {
        const r = await this.call('GET', t.url);
        lost.push(`${t.url} (stopped=${t.stopped} deleted=${t.deleted}): now ${r.status} ${String(r.body.state ?? '')}`);
      }
    }
    return { lost };
  }
}
