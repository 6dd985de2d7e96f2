/**
 * The volumes of this host (docs/volumes.md), level-triggered like machines: every cycle the agent
 * reads volumes_by_host, and
 *   prepare()  (before the machines) makes the file of every wanted volume and tells which machine
 *              each ready one is attached to (the machines' domain XML then holds it: machine-sync.ts
 *              redefines a domain whose volumes differ);
 *   finish()   (after the machines) removes the file of a volume asked to go once no domain
 *              definition holds it, then purges its rows (quota released once), and writes every
 *              other volume's status: CREATING until the file exists, AVAILABLE, or ERROR with the
 *              error; observedGeneration once the file exists and the attachment (or detachment)
 *              is in the machine's definition.
 * Status is always written when it changes (errors included), and every fullResyncEvery cycles.
 */
import type { Logger } from '../observability/logger.js';
import type { BusStore } from '../schema/bus-store.js';
import type { AttachedVolume, HostVolume, VolumeStatus } from '../schema/types.js';
import type { AgentConfig } from './config.js';
import type { CycleReport } from './cycle-report.js';
import { volumePath } from './domain-xml.js';
import { errorText } from './error-text.js';
import type { AgentEvents } from './event-log.js';
import { ensureVolumeFile, removeVolumeFile } from './volume-files.js';

interface VolumeLocal { made: boolean; error: string | null; observedGeneration: number; reportedError: string | null }

export interface VolumeSyncDeps {
  store: BusStore;
  config: AgentConfig;
  domainType: 'test' | 'qemu';
  log: Logger;
  now: () => number;
  /** The volume's events (its made, failed and deleted moments), for the tenant's event log. */
  events?: AgentEvents;
}

export class VolumeSync {
  private readonly local = new Map<string, VolumeLocal>();
  private readonly written = new Map<string, string>();
  private cycles = 0;

  constructor(private readonly d: VolumeSyncDeps) {}

  /** Lease (re)gained or lost: re-check every file and re-write every status. */
  forget(): void {
    this.local.clear();
    this.written.clear();
  }

  private localFor(v: HostVolume): VolumeLocal {
    let l = this.local.get(v.volumeId);
    if (!l) { l = { made: false, error: null, observedGeneration: 0, reportedError: null }; this.local.set(v.volumeId, l); }
    return l;
  }

  private async event(v: HostVolume, to: string, error: string | null): Promise<void> {
    await this.d.events?.append({
      tenant: v.tenant, ts: this.d.now(), type: 'state', severity: error ? 'high' : 'low', outcome: error ? 'Failure' : 'Success', resource: v.volumeId,
      content: { resType: 'Volume', hostId: this.d.config.hostId, to, generation: v.generation, ...(error ? { error } : {}) },
    });
  }

  pathOf(v: HostVolume): string {
    return volumePath(this.d.config.workDir, v.volumeId, v.spec.format);
  }

  /** Make missing files; the ready volumes per machine they are attached to. */
  async prepare(volumes: HostVolume[]): Promise<Map<string, AttachedVolume[]>> {
    this.cycles++;
    if (this.cycles % this.d.config.fullResyncEvery === 0) this.written.clear();
    const byMachine = new Map<string, AttachedVolume[]>();
    for (const v of volumes) {
      if (v.desiredState === 'DELETED') continue;
      const l = this.localFor(v);
      const path = this.pathOf(v);
      if (!l.made) {
        try {
          await ensureVolumeFile(path, v.spec, this.d.domainType);
          l.made = true;
          l.error = null;
          this.d.log.info({ volumeId: v.volumeId, path }, 'volume file ready');
          await this.event(v, 'AVAILABLE', null);
        } catch (e) {
          l.error = `create failed: ${errorText(e)}`;
        }
      }
      if (l.made && v.attachment) {
        const list = byMachine.get(v.attachment.machineId) ?? [];
        list.push({ volumeId: v.volumeId, device: v.attachment.device, path, format: v.spec.format });
        byMachine.set(v.attachment.machineId, list);
      }
    }
    return byMachine;
  }

  /**
   * Deletes and status. `defined(machineId)` is what a machine's definition holds (null: unknown this
   * lease), for every machine of `machineIds` (the machines on this host now).
   */
  async finish(volumes: HostVolume[], machineIds: string[], defined: (machineId: string) => string[] | null, report: CycleReport): Promise<void> {
    const holders = new Map<string, string[]>();
    let unknown = false;
    for (const id of machineIds) {
      const held = defined(id);
      if (held === null) { unknown = true; continue; }
      for (const entry of held) {
        const path = entry.slice(entry.indexOf('=') + 1);
        holders.set(path, [...(holders.get(path) ?? []), id]);
      }
    }
    for (const v of volumes) {
      try {
        await this.finishOne(v, holders, unknown, defined, new Set(machineIds), report);
      } catch (e) {
        this.d.log.error({ volumeId: v.volumeId, err: errorText(e) }, 'volume reconcile failed');
      }
    }
  }

  private async finishOne(v: HostVolume, holders: Map<string, string[]>, unknown: boolean, defined: (machineId: string) => string[] | null, onHost: Set<string>, report: CycleReport): Promise<void> {
    const { store, config } = this.d;
    const l = this.localFor(v);
    const path = this.pathOf(v);
    const heldBy = holders.get(path) ?? [];
    if (v.desiredState === 'DELETED') {
      // Never while a domain definition still holds the file (or one could not be read).
      if (heldBy.length > 0 || unknown) {
        // Not an error: the machine's redefinition (same cycle, normally) comes first.
        l.error = null;
        if (heldBy.length > 0) this.d.log.debug({ volumeId: v.volumeId, machineId: heldBy[0] }, 'volume delete waits for the machine\'s definition to drop it');
      } else {
        try {
          await removeVolumeFile(path);
          await store.volumes.purge({ id: v.volumeId, tenant: v.tenant, hostId: config.hostId });
          this.local.delete(v.volumeId);
          this.written.delete(v.volumeId);
          this.d.log.info({ volumeId: v.volumeId }, 'volume deleted, file removed, rows purged');
          await this.event(v, 'DELETED', null);
          return;
        } catch (e) {
          l.error = `delete failed: ${errorText(e)}`;
        }
      }
    }
    let applied: boolean;
    if (!l.made || v.desiredState === 'DELETED') applied = false;
    else if (v.attachment) {
      const want = `${v.attachment.device}=${path}`;
      // A machine no longer on this host (purged) has nothing left to apply.
      applied = !onHost.has(v.attachment.machineId) || (defined(v.attachment.machineId)?.includes(want) ?? false);
      applied &&= heldBy.every((m) => m === v.attachment!.machineId);
    } else {
      applied = heldBy.length === 0 && !unknown;
    }
    if (applied || l.error) l.observedGeneration = v.generation;
    // A failure is recorded when its text changes, not on every attempt (as for machines).
    if (l.error && l.error !== l.reportedError) { await this.event(v, 'ERROR', l.error); this.d.log.warn({ volumeId: v.volumeId, err: l.error }, 'volume action failed'); }
    l.reportedError = l.error;
    const status: VolumeStatus = {
      state: v.desiredState === 'DELETED' ? 'DELETING' : l.made ? 'AVAILABLE' : l.error ? 'ERROR' : 'CREATING',
      observedGeneration: l.observedGeneration, error: l.error, path: l.made ? path : null, hostId: config.hostId, updatedAt: this.d.now(),
    };
    const key = JSON.stringify({ ...status, updatedAt: 0 });
    if (this.written.get(v.volumeId) === key) return;
    await store.volumes.setStatus(v.volumeId, status);
    this.written.set(v.volumeId, key);
    report.statusWrites++;
  }
}
