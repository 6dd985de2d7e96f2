/**
 * One machine per call: observe its domain, decide (decide.ts), take the action, observe again,
 * record the outcome as an event and ALWAYS write its status. Deletion ends here too (finishDelete:
 * claim released, status DELETED, rows purged).
 *
 * An action that keeps failing is backed off (backoff.ts): the machine is still observed and its
 * status written every cycle, only the action waits. A failure is recorded as an event (and a warn
 * log) when its text differs from the last one recorded, not on every attempt; status.error always
 * shows the current one. A new spec generation, or an action that succeeds, starts afresh.
 *
 * Every libvirt call goes through the call guard (libvirt-call-guard.ts): one that does not return in
 * time fails its action and blocks further calls on its domain until it returns. A generation that
 * stays unconverged past its transitional deadline (deadlines.ts) shows that in status.error, with
 * one event, while the agent keeps trying.
 */
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { BusStore } from '../schema/bus-store.js';
import type { HostMachine, MachineState, MachineStatus, NicStatus } from '../schema/types.js';
import { actionDue, afterFailure, backoffDelay, type Backoff, type BackoffPolicy } from './backoff.js';
import type { AgentConfig } from './config.js';
import type { CycleReport } from './cycle-report.js';
import {
  decide, isConverged, observedState, rememberAfter, settleMemory,
  type Action, type MachineMemory, type Observed,
} from './decide.js';
import { deadlineError, nextPending, transitionalStateOf, type Pending } from './deadlines.js';
import { captureDisk } from './disk-capture.js';
import { hasSaveFile } from './disks.js';
import type { DomainIndex } from './domain-index.js';
import { domainTypeFor } from './config.js';
import { definedVolumes, domainInterfaces, domainName, libvirtNetworkFor, wantedVolumes } from './domain-xml.js';
import { LeaseReader } from './nic-addresses.js';
import { errorText } from './error-text.js';
import type { AgentEvents } from './event-log.js';
import type { DomainSnapshot, LibvirtHost } from './libvirt-host.js';
import { LibvirtCallHung, LibvirtCallPending, type LibvirtCallGuard } from './libvirt-call-guard.js';
import { takeAction } from './machine-actions.js';

interface MachineLocal extends MachineMemory {
  error: string | null;
  lastState: MachineState | null;
  /** The spec generation the back-off and the recorded error below belong to. */
  generation: number;
  /** Failed attempts in a row at that generation (null: the last attempt succeeded, or none yet). */
  backoff: Backoff | null;
  /** The error last recorded in an event (null: none since the last success). */
  reportedError: string | null;
  /** The interfaces read from the domain's XML (null: not read since the domain was (re)defined). */
  nics: NicStatus[] | null;
  /** The volumes in the domain's definition ('device=path', sorted; null: not read yet). docs/volumes.md */
  definedVolumes: string[] | null;
  /** Since when the current generation has been unconverged here (null: converged). deadlines.ts */
  pending: Pending | null;
  /** The last action attempted at this generation (null: none yet). */
  lastAction: Action | null;
  /** The transitional deadline's reason once it has passed (null: not passed). status.error shows it before l.error. */
  deadlineError: string | null;
}

export interface MachineSyncDeps {
  store: BusStore;
  config: AgentConfig;
  host: LibvirtHost;
  events: AgentEvents;
  log: Logger;
  metrics: SkybusMetrics | undefined;
  now: () => number;
  /** Called when a machine's rows are purged. */
  onPurged: (machineId: string) => void;
  /** Bounds every libvirt call (libvirt-call-guard.ts). */
  calls: LibvirtCallGuard;
  /** How long a call may still be waited for in this cycle (the safe rest of the host lease). */
  waitBudgetMs: () => number;
}

export class MachineSync {
  private readonly local = new Map<string, MachineLocal>();
  /** machineId -> the status last written by this process (without updatedAt). */
  private readonly written = new Map<string, string>();
  private cycles = 0;
  private readonly backoffPolicy: BackoffPolicy;
  private readonly leases: LeaseReader;

  constructor(private readonly d: MachineSyncDeps) {
    this.backoffPolicy = { intervalMs: d.config.intervalMs, maxMs: d.config.backoffMaxMs };
    this.leases = new LeaseReader(d.config.libvirtUri, domainTypeFor(d.config.libvirtUri) === 'qemu', d.now);
  }

  /** Every fullResyncEvery cycles, every status is written again even when unchanged. */
  startCycle(): void {
    this.cycles++;
    if (this.cycles % this.d.config.fullResyncEvery === 0) this.written.clear();
  }

  /** Lease (re)gained or lost: what this process thinks it wrote or did may be stale. */
  forget(): void {
    this.written.clear();
    this.local.clear();
  }

  /**
   * The volumes this process knows to be in the machine's domain definition ('device=path'), or null
   * when it does not know (machine not seen yet this lease). VolumeSync reads it to tell whether an
   * attach or detach has been applied.
   */
  definedVolumesOf(machineId: string): string[] | null {
    return this.local.get(machineId)?.definedVolumes ?? null;
  }

  /** Whether the domain's definition lacks a wanted volume or holds an unwanted one (read once per lease, then remembered). */
  private async volumesStale(m: HostMachine, l: MachineLocal, snap: DomainSnapshot | null): Promise<boolean> {
    if (!snap) return false;
    if (l.definedVolumes === null) {
      try {
        const xml = await this.guarded(m.machineId, 'inactiveXml', (step) => { step('virDomainGetXMLDesc'); return this.d.host.inactiveXml(m.machineId); });
        l.definedVolumes = definedVolumes(xml, this.d.config.workDir);
      } catch {
        return false; // unreadable now: the next cycle tries again
      }
    }
    return wantedVolumes(m).join(',') !== l.definedVolumes.join(',');
  }

  /** The state last reported for a machine (null: not seen by this process yet). */
  lastState(machineId: string): MachineState | null {
    return this.local.get(machineId)?.lastState ?? null;
  }

  /** Reconcile one machine. Returns its domain afterwards (null: none, or the machine is gone). */
  async reconcile(m: HostMachine, domains: DomainIndex, report: CycleReport): Promise<DomainSnapshot | null> {
    const { config, host, events } = this.d;
    const log = this.d.log.child({ machineId: m.machineId });
    const l = await this.localFor(m);
    if (l.generation !== m.generation) {
      // A new spec: whatever failed before is tried at once, and its failure is news.
      l.generation = m.generation;
      l.backoff = null;
      l.reportedError = null;
      l.lastAction = null;
      l.deadlineError = null;
    }
    const name = domainName(config.domainPrefix, m.machineId);
    let snap = domains.byUuid.get(m.machineId.toLowerCase()) ?? null;
    // A call left running by an earlier cycle (not hung yet) is given what is left of its time first.
    if (await this.d.calls.waitFor(m.machineId, this.d.waitBudgetMs())) {
      snap = await this.guarded(m.machineId, 'lookup', (step) => { step('virDomainLookupByUUIDString'); return host.lookup(m.machineId); });
    }
    const impostor = !snap ? domains.byName.get(name) : undefined;
    if (impostor) {
      l.error = `a domain named ${name} exists with another UUID (${impostor.uuid}); not touching it`;
      await this.writeStatus(m, l, 'ERROR', false, report);
      return null;
    }
    let observed = await this.observe(m.machineId, snap);
    Object.assign(l, settleMemory(m, observed, l));
    const now = this.d.now();
    const volumesStale = await this.volumesStale(m, l, snap);
    const decided = decide({ desired: m, observed, memory: l, now, stopGraceMs: config.stopGraceMs, volumesStale });
    const due = decided === 'none' || actionDue(l.backoff, this.cycles, now, this.backoffPolicy);
    if (!due) log.debug({ action: decided, failures: l.backoff?.failures }, 'action backed off after repeated failures');
    // A call still outstanding on this domain: nothing else is started on it until it returns.
    const busy = this.d.calls.outstandingOn(m.machineId);
    if (busy && this.d.calls.isHung(busy)) l.error = `${busy.action} failed: ${this.d.calls.hungMessage(busy)}`;
    const action: Action = due && !busy ? decided : 'none';
    const from = observedState(observed);

    if (action !== 'none') {
      l.lastAction = action;
      if (await this.attempt(action, m, l, now, from, log, report)) return null;
      if (!this.d.calls.outstandingOn(m.machineId)) {
        snap = await this.guarded(m.machineId, 'lookup', (step) => { step('virDomainLookupByUUIDString'); return host.lookup(m.machineId); });
        observed = await this.observe(m.machineId, snap);
        Object.assign(l, settleMemory(m, observed, l));
      }
    }

    if (action === 'create' || action === 'define' || !snap) l.nics = null;
    if (snap && l.nics === null && (m.spec.networkInterfaces ?? []).length > 0) l.nics = await this.readNics(m);
    if (l.nics && observed?.state === 'running') l.nics = await this.withAddresses(m, l.nics);
    const converged = isConverged(m, observed, l);
    if (converged) {
      l.error = null;
      l.backoff = null;
    }
    await this.judgeDeadline(m, l, converged, observed?.state ?? null, log);
    const state: MachineState = observedState(observed) ?? (l.deadlineError ?? l.error ? 'ERROR' : 'CREATING');
    const stateChanged = l.lastState !== null && l.lastState !== state;
    // A failure already recorded with the same text is not recorded again.
    // (A call found hung on a later cycle is news too, though no action was taken.)
    const news = (action !== 'none' && l.error === null) || (l.error !== null && l.error !== l.reportedError);
    if (news || stateChanged) {
      await events.machineState(m.tenant, m.machineId, state, from, action, l.error === null, m.generation, l.error);
      l.reportedError = l.error;
    }
    if (l.error === null) l.reportedError = null;
    l.lastState = state;
    await this.writeStatus(m, l, state, converged, report);
    return snap;
  }

  /**
   * The pending clock and the transitional deadline: one event when it first passes at this
   * generation; status.error then shows the deadline's reason until the machine converges.
   */
  private async judgeDeadline(m: HostMachine, l: MachineLocal, converged: boolean, domain: Observed['state'] | null, log: Logger): Promise<void> {
    const now = this.d.now();
    l.pending = nextPending(l.pending, m.generation, converged, now);
    const state = transitionalStateOf(m);
    const limitMs = this.d.config.deadlinesMs[state];
    l.deadlineError = deadlineError(state, limitMs, l.pending, now, this.d.config.hostId, { error: l.error, action: l.lastAction, domain });
    if (!l.deadlineError || !l.pending || l.pending.reported) return;
    l.pending.reported = true;
    log.warn({ state, limitMs, pendingSince: l.pending.since, reason: l.deadlineError }, 'transitional deadline passed; still trying');
    await this.d.events.machineDeadline(m.tenant, m.machineId, state, limitMs, m.generation, l.deadlineError);
  }

  /** A read or action through the call guard, waiting at most the cycle's budget. */
  private guarded<T>(machineId: string, action: string, fn: (step: (call: string) => void) => Promise<T>): Promise<T> {
    return this.d.calls.run(machineId, action, fn, this.d.waitBudgetMs());
  }

  /** Take the action and remember its outcome (error, back-off). True when the machine is gone: deleted and purged. */
  private async attempt(action: Action, m: HostMachine, l: MachineLocal, now: number, from: MachineState | null, log: Logger, report: CycleReport): Promise<boolean> {
    const { metrics, events } = this.d;
    const firstInRow = l.backoff === null;
    try {
      await this.act(action, m, log);
      Object.assign(l, rememberAfter(action, m, l, now));
      // What the definition now holds (the XML was built with m.volumes).
      if (action === 'create' || action === 'define' || action === 'redefine') l.definedVolumes = wantedVolumes(m);
      if (action === 'delete') l.definedVolumes = [];
      l.error = null;
      metrics?.agentActions.inc({ action, outcome: 'ok' });
      report.actions.push({ machineId: m.machineId, action, ok: true });
      log.info({ action, generation: m.generation, desired: m.desiredState }, 'action done');
    } catch (e) {
      if (e instanceof LibvirtCallPending) {
        // Waited as long as this cycle may: no outcome yet, judged on a later cycle by the call's age.
        log.info({ action, reason: errorText(e) }, 'action still running at the end of the safe part of the lease');
        report.actions.push({ machineId: m.machineId, action, ok: false, error: errorText(e) });
        return false;
      }
      l.error = `${action} failed: ${errorText(e)}`;
      if (e instanceof LibvirtCallHung) log.warn({ action, err: l.error }, 'libvirt call did not return in time; nothing else is started on this domain until it does');
      metrics?.agentActions.inc({ action, outcome: 'error' });
      report.actions.push({ machineId: m.machineId, action, ok: false, error: l.error });
    }
    if (action === 'delete' && l.error === null) {
      // Domain and files are gone: finish in the same cycle.
      try {
        await this.finishDelete(m, log);
        report.actions.push({ machineId: m.machineId, action: 'finishDelete', ok: true });
        await events.machineState(m.tenant, m.machineId, 'DELETED', from, 'delete', true, m.generation);
        return true;
      } catch (e) {
        l.error = `finishDelete failed: ${errorText(e)}`;
        report.actions.push({ machineId: m.machineId, action: 'finishDelete', ok: false, error: l.error });
      }
    }
    if (action === 'finishDelete' && l.error === null) {
      await events.machineState(m.tenant, m.machineId, 'DELETED', from, action, true, m.generation);
      return true;
    }
    if (l.error === null) {
      l.backoff = null;
      return false;
    }
    l.backoff = afterFailure(l.backoff, this.cycles, now);
    const what = { action, err: l.error, failures: l.backoff.failures, retryInCycles: backoffDelay(l.backoff.failures, this.backoffPolicy).cycles };
    // A warning the first time in a row in this process (even when the bus already has the error), or when the text changes.
    if (firstInRow || l.error !== l.reportedError) log.warn(what, 'action failed; backing off');
    else log.debug(what, 'action failed again the same way');
    return false;
  }

  private async act(action: Action, m: HostMachine, log: Logger): Promise<void> {
    if (action === 'finishDelete') return this.finishDelete(m, log);
    if (action === 'capture') {
      const out = await captureDisk(m, this.d.host, this.d.config, this.d.store, this.d.now);
      const what = { imageId: m.spec.capture?.imageId, state: out.state, file: out.disk ?? out.location, error: out.error };
      if (out.state === 'AVAILABLE') log.info(what, 'machine captured');
      else log.warn(what, 'capture failed; the image is in ERROR');
      return;
    }
    const id = m.machineId;
    return this.guarded(id, action, (step) => takeAction(action, m, this.d.host, this.d.config, step));
  }

  /** The memory for a machine first seen by this process, seeded from the status on the bus. */
  private async localFor(m: HostMachine): Promise<MachineLocal> {
    let l = this.local.get(m.machineId);
    if (l) return l;
    const row = await this.d.store.machines.get(m.machineId);
    const st = row?.status;
    const mine = st && st.hostId === this.d.config.hostId;
    // A deadline's reason on the bus is re-judged here, not taken for the last action's failure.
    const busError = mine && st.error && !st.error.includes(' did not finish within ') ? st.error : null;
    // The pending clock from the bus: the current generation was written at row.updated, and the
    // machine reached this host no earlier than its placement (so time spent unplaced is not counted).
    const atThisGeneration = !!row && row.generation === m.generation;
    const pendingSince = atThisGeneration ? Math.min(this.d.now(), Math.max(row.updated, row.placement?.lastAttemptAt ?? 0)) : this.d.now();
    l = {
      shutdownRequestedAt: null,
      restartedSeq: mine ? st.observedRestartSeq : 0,
      capturedImageId: mine ? st.lastCapture ?? null : null,
      error: busError,
      lastState: mine ? st.state : null,
      // An error on the bus was recorded as an event when it was written: a restarted agent that
      // meets it again at the same generation does not record it once more.
      generation: mine ? st.observedGeneration : m.generation,
      backoff: null,
      reportedError: busError,
      nics: null,
      definedVolumes: null,
      pending: {
        generation: m.generation, since: pendingSince,
        // Already recorded by an earlier process when the bus shows its reason at this generation.
        reported: !!mine && st.observedGeneration === m.generation && (st.error ?? '').includes(' did not finish within '),
      },
      lastAction: null,
      deadlineError: null,
    };
    this.local.set(m.machineId, l);
    return l;
  }

  /**
   * The machine's interfaces as libvirt defined them: the i-th <interface> of the domain is the spec's
   * i-th (libvirt keeps device order); read once per definition, not every cycle. Addresses come from
   * the DHCP leases, when the host can tell them (nic-addresses.ts).
   */
  private async readNics(m: HostMachine): Promise<NicStatus[] | null> {
    let xml: string;
    try {
      xml = await this.guarded(m.machineId, 'xml', (step) => { step('virDomainGetXMLDesc'); return this.d.host.xml(m.machineId); });
    } catch { return null; }
    const seen = domainInterfaces(xml);
    return (m.spec.networkInterfaces ?? []).map((n, i) => ({ network: n.network, macAddress: seen[i]?.macAddress ?? null, addresses: [] }));
  }

  /** The leased addresses of each interface with a MAC (the lease reader bounds how often it asks libvirt). */
  private async withAddresses(m: HostMachine, nics: NicStatus[]): Promise<NicStatus[]> {
    const specNics = m.spec.networkInterfaces ?? [];
    return Promise.all(nics.map(async (n, i) => {
      const spec = specNics[i];
      if (!n.macAddress || !spec) return n;
      let net: string;
      try { net = libvirtNetworkFor(spec, this.d.config.labels); } catch { return n; }
      const addresses = await this.leases.addresses(net, n.macAddress);
      return addresses.length > 0 || n.addresses.length === 0 ? { ...n, addresses } : n;
    }));
  }

  private async observe(machineId: string, snap: DomainSnapshot | null): Promise<Observed | null> {
    if (!snap) return null;
    const off = snap.state === 'shutoff' || snap.state === 'crashed' || snap.state === 'nostate';
    return { state: snap.state, saved: off ? await hasSaveFile(this.d.config.workDir, machineId) : false };
  }

  private async writeStatus(m: HostMachine, l: MachineLocal, state: MachineState, converged: boolean, report: CycleReport): Promise<void> {
    const status: MachineStatus = {
      state, observedGeneration: m.generation, observedRestartSeq: l.restartedSeq, converged, error: l.deadlineError ?? l.error,
      hostId: this.d.config.hostId, updatedAt: this.d.now(), lastCapture: l.capturedImageId ?? null,
    };
    const specNics = m.spec.networkInterfaces ?? [];
    if (specNics.length > 0) status.networkInterfaces = l.nics ?? specNics.map((n) => ({ network: n.network, macAddress: null, addresses: [] }));
    const key = JSON.stringify({ ...status, updatedAt: 0 });
    if (this.written.get(m.machineId) === key) return; // nothing changed since our last write: spare the bus
    await this.d.store.machines.setStatus(m.machineId, status);
    this.written.set(m.machineId, key);
    report.statusWrites++;
  }

  /** Release the claim (exactly once: release only subtracts a present allocation), status DELETED, purge. */
  private async finishDelete(m: HostMachine, log: Logger): Promise<void> {
    const { store, config } = this.d;
    const released = await store.hosts.release(config.hostId, m.machineId);
    await store.machines.setStatus(m.machineId, {
      state: 'DELETED', observedGeneration: m.generation, observedRestartSeq: m.restartSeq, converged: true, error: null,
      hostId: config.hostId, updatedAt: this.d.now(),
    });
    await store.machines.purge({ id: m.machineId, tenant: m.tenant, hostId: config.hostId, spec: m.spec });
    this.local.delete(m.machineId);
    this.written.delete(m.machineId);
    this.d.onPurged(m.machineId);
    log.info({ released }, 'machine deleted, claim released, rows purged');
  }
}
