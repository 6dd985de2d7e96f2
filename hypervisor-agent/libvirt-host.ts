/**
 * A thin wrapper around @unraid/libvirt's Hypervisor: one connection per host, every call serialized
 * through one queue (the binding runs calls on worker threads; libvirt connections are thread safe,
 * but serializing keeps the order of our own operations obvious and costs nothing on these sizes).
 * A call that hangs holds the queue up for at most callTimeoutMs; the calls behind it then go ahead.
 *
 * What the binding lacks, and what we do instead:
 * - reboot: restart = destroy + start (a forced power cycle; the guest gets no ACPI reboot).
 * - bulk/block/interface statistics and node CPU/memory statistics: only domainGetInfo (state,
 *   memory, vcpus, cpu time) and nodeGetInfo (capacity) exist; monitoring derives the rest from them
 *   (docs/data-model.md, "Host monitoring", what the binding cannot give).
 * - managed save: save() writes an explicit file under workDir and restore() reads it back.
 * - events: none; the agent is level-triggered and polls.
 */
import * as libvirt from '@unraid/libvirt';
import { domainTypeFor } from './config.js';

export type DomainRunState = 'running' | 'paused' | 'shuttingdown' | 'shutoff' | 'crashed' | 'pmsuspended' | 'nostate';

export interface DomainSnapshot {
  name: string;
  uuid: string;
  state: DomainRunState;
  /** libvirt's domain id while active, null when shut off. */
  id: number | null;
  memoryKiB: number;
  maxMemoryKiB: number;
  vcpus: number;
  cpuTimeNs: number;
  /**
   * When domainGetInfo returned, on the monotonic clock (performance.now(), ms): the time a CPU
   * rate divides by (host-monitor.ts), immune to wall-clock steps.
   */
  observedAtMs: number;
}

export interface NodeSummary {
  cpus: number;
  memoryKiB: number;
  arch: string;
  model: string;
  hostname: string;
}

export function runState(s: number): DomainRunState {
  switch (s) {
    case libvirt.DomainState.RUNNING:
    case libvirt.DomainState.BLOCKED: return 'running';
    case libvirt.DomainState.PAUSED: return 'paused';
    case libvirt.DomainState.SHUTDOWN: return 'shuttingdown';
    case libvirt.DomainState.SHUTOFF: return 'shutoff';
    case libvirt.DomainState.CRASHED: return 'crashed';
    case libvirt.DomainState.PMSUSPENDED: return 'pmsuspended';
    default: return 'nostate';
  }
}

/** libvirt reports every error with code -1 through this binding; tell "not there" apart by message. */
export function isNotFound(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /domain not found|no domain with matching/i.test(m);
}

export function isNotRunning(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /not running|domain is not active|is not active/i.test(m);
}

/** The node's CPU architecture as libvirt names it, from the model string ('x86_64', 'i686', 'aarch64'). */
function archOf(model: string): string {
  if (/^(x86_64|i686|aarch64|armv7l|ppc64le|s390x|riscv64)$/.test(model)) return model;
  return process.arch === 'arm64' ? 'aarch64' : 'x86_64';
}

export class LibvirtHost {
  private hv: libvirt.Hypervisor | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  readonly domainType: 'test' | 'qemu';
  /**
   * A call that has not returned after this long no longer holds up the calls queued behind it (a
   * native call cannot be cancelled; the agent reports it: libvirt-call-guard.ts).
   */
  private readonly queueReleaseMs: number;

  constructor(readonly uri: string, opts: { callTimeoutMs?: number } = {}) {
    this.domainType = domainTypeFor(uri);
    this.queueReleaseMs = opts.callTimeoutMs ?? 60_000;
  }

  get connected(): boolean { return this.hv !== null; }

  /** Run fn after every call queued before it (one libvirt call at a time per host). */
  private run<T>(fn: (hv: libvirt.Hypervisor) => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (!this.hv) throw new Error(`libvirt ${this.uri}: not connected`);
      return fn(this.hv);
    });
    let timer: NodeJS.Timeout | undefined;
    const released = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.queueReleaseMs); timer.unref(); });
    this.queue = Promise.race([next.catch(() => undefined), released]).finally(() => clearTimeout(timer));
    return next;
  }

  async connect(): Promise<void> {
    if (this.hv) return;
    const hv = new libvirt.Hypervisor({ uri: this.uri });
    await hv.connectOpen();
    this.hv = hv;
  }

  async close(): Promise<void> {
    const hv = this.hv;
    if (!hv) return;
    await this.queue;
    this.hv = null;
    await hv.connectClose().catch(() => undefined);
  }

  async nodeInfo(): Promise<NodeSummary> {
    return this.run(async (hv) => {
      const n = await hv.nodeGetInfo();
      const hostname = await hv.connectGetHostname().catch(() => 'localhost');
      return { cpus: n.cpus, memoryKiB: n.memory, arch: archOf(n.model), model: n.model, hostname };
    });
  }

  private async snapshot(hv: libvirt.Hypervisor, d: libvirt.Domain): Promise<DomainSnapshot> {
    const [name, uuid, info, id] = await Promise.all([
      hv.domainGetName(d), hv.domainGetUUIDString(d), hv.domainGetInfo(d), hv.domainGetID(d),
    ]);
    return {
      name, uuid: uuid.toLowerCase(), state: runState(info.state), id: typeof id === 'number' && id >= 0 ? id : null,
      memoryKiB: info.memory, maxMemoryKiB: info.maxMem, vcpus: info.nrVirtCpu, cpuTimeNs: info.cpuTime, observedAtMs: performance.now(),
    };
  }

  /** Every domain, active and inactive. A domain that vanishes while being listed is skipped. */
  async listDomains(): Promise<DomainSnapshot[]> {
    return this.run(async (hv) => {
      const doms = await hv.connectListAllDomains();
      const out: DomainSnapshot[] = [];
      for (const d of doms) {
        try { out.push(await this.snapshot(hv, d)); } catch (e) { if (!isNotFound(e)) throw e; }
      }
      return out;
    });
  }

  /** The domain with this UUID, or null. */
  async lookup(uuid: string): Promise<DomainSnapshot | null> {
    return this.run(async (hv) => {
      try { return await this.snapshot(hv, await hv.domainLookupByUUIDString(uuid)); } catch (e) { if (isNotFound(e)) return null; throw e; }
    });
  }

  async xml(uuid: string): Promise<string> {
    return this.run(async (hv) => hv.domainGetXMLDesc(await hv.domainLookupByUUIDString(uuid)));
  }

  /** The persistent definition (what the next boot uses), also while the domain runs. */
  async inactiveXml(uuid: string): Promise<string> {
    return this.run(async (hv) => hv.domainGetXMLDesc(await hv.domainLookupByUUIDString(uuid), libvirt.DomainGetXMLDescFlags.INACTIVE));
  }

  /** Define (persistent, not started); for a defined domain, replaces its definition (a running one uses it from its next boot). */
  async define(xml: string): Promise<void> {
    await this.run(async (hv) => { await hv.domainDefineXML(xml); });
  }

  private op(uuid: string, fn: (hv: libvirt.Hypervisor, d: libvirt.Domain) => Promise<void>): Promise<void> {
    return this.run(async (hv) => fn(hv, await hv.domainLookupByUUIDString(uuid)));
  }

  start(uuid: string): Promise<void> { return this.op(uuid, (hv, d) => hv.domainCreate(d)); }
  /** Graceful: ACPI power button; the guest decides when (and whether) to turn off. */
  shutdown(uuid: string): Promise<void> { return this.op(uuid, (hv, d) => hv.domainShutdown(d)); }
  /** Forced power off. Not an error when the domain is already off. */
  destroy(uuid: string): Promise<void> {
    return this.op(uuid, async (hv, d) => { try { await hv.domainDestroy(d); } catch (e) { if (!isNotRunning(e)) throw e; } });
  }
  undefine(uuid: string): Promise<void> { return this.op(uuid, (hv, d) => hv.domainUndefine(d)); }
  /** Pause the vCPUs (libvirt's "suspend"). */
  suspend(uuid: string): Promise<void> { return this.op(uuid, (hv, d) => hv.domainSuspend(d)); }
  /** Resume paused vCPUs (or wake a PM-suspended guest). */
  resume(uuid: string): Promise<void> {
    return this.op(uuid, async (hv, d) => {
      const info = await hv.domainGetInfo(d);
      if (info.state === libvirt.DomainState.PMSUSPENDED) await hv.domainPMWakeup(d);
      else await hv.domainResume(d);
    });
  }
  /** Save memory to a file; the domain is shut off afterwards (stays defined). */
  save(uuid: string, file: string): Promise<void> { return this.op(uuid, (hv, d) => hv.domainSave(d, file)); }
  /** Bring a saved domain back (running, or paused if it was saved paused). */
  restore(file: string): Promise<void> { return this.run((hv) => hv.domainRestore(file)); }
  /** The binding has no reboot: a restart is destroy + start. */
  async restart(uuid: string): Promise<void> {
    await this.destroy(uuid);
    await this.start(uuid);
  }
}
