/**
 * Orphans: domains with the Skybus prefix and no machine on this host. Reported once (an alarm event);
 * under orphanPolicy 'destroy' destroyed and undefined, but only when seen on two cycles in a row.
 * A domain whose machine now lives on another host (moved by an HA restart while this host was
 * down: docs/lifecycle.md) is removed whatever the policy, and never started: the machine runs there.
 */
import type { Logger } from '../observability/logger.js';
import type { SkybusMetrics } from '../observability/metrics.js';
import type { AgentConfig } from './config.js';
import type { CycleReport } from './cycle-report.js';
import { removeMachineFiles } from './disks.js';
import { metadataHost } from './domain-xml.js';
import { errorText } from './error-text.js';
import type { AgentEvents } from './event-log.js';
import type { DomainSnapshot, LibvirtHost } from './libvirt-host.js';

const SYSTEM_TENANT = 'system';

export class OrphanDomains {
  /** Domain name -> cycles in a row it was seen as an orphan. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly config: AgentConfig,
    private readonly host: LibvirtHost,
    private readonly events: AgentEvents,
    private readonly log: Logger,
    private readonly metrics: SkybusMetrics | undefined,
    private readonly now: () => number,
    /** The host the machine's row names now (null: unplaced; undefined: no such machine). */
    private readonly hostOfMachine: (machineId: string) => Promise<string | null | undefined> = async () => undefined,
  ) {}

  async handle(d: DomainSnapshot, report: CycleReport): Promise<void> {
    const xml = await this.host.xml(d.uuid).catch(() => '');
    const owner = metadataHost(xml);
    if (owner !== null && owner !== this.config.hostId) return; // another host's domain on a shared connection
    const tenant = /<skybus:tenant>([^<]*)<\/skybus:tenant>/.exec(xml)?.[1] ?? SYSTEM_TENANT;
    const machineId = d.name.slice(this.config.domainPrefix.length);
    if (/^[0-9a-f-]{36}$/i.test(machineId)) {
      const now = await this.hostOfMachine(machineId);
      if (typeof now === 'string' && now !== this.config.hostId) { await this.removeMoved(d, machineId, now, tenant, report); return; }
    }
    const seen = (this.seen.get(d.name) ?? 0) + 1;
    this.seen.set(d.name, seen);
    report.orphans.push(d.name);
    const log = this.log.child({ domain: d.name, uuid: d.uuid });
    if (seen === 1) {
      log.warn({ policy: this.config.orphanPolicy }, 'orphan domain: it has the Skybus prefix but no machine on this host');
      await this.events.append({
        tenant, ts: this.now(), type: 'alarm', severity: 'medium', outcome: 'Warning', resource: d.uuid,
        content: { hostId: this.config.hostId, domain: d.name, reason: 'orphan domain', policy: this.config.orphanPolicy, state: d.state },
      });
      this.metrics?.agentActions.inc({ action: 'orphan', outcome: 'reported' });
    }
    // Destroy only when seen on two cycles in a row: one odd read of the bus must not cost a guest.
    if (this.config.orphanPolicy !== 'destroy' || seen < 2) return;
    try {
      await this.host.destroy(d.uuid);
      await this.host.undefine(d.uuid);
      const id = d.name.slice(this.config.domainPrefix.length);
      if (/^[0-9a-f-]{36}$/i.test(id)) await removeMachineFiles(this.config.workDir, id);
      this.seen.delete(d.name);
      report.actions.push({ machineId: d.uuid, action: 'orphan', ok: true });
      this.metrics?.agentActions.inc({ action: 'orphan', outcome: 'destroyed' });
      log.warn('orphan domain destroyed and undefined');
      await this.events.append({
        tenant, ts: this.now(), type: 'state', severity: 'medium', outcome: 'Success', resource: d.uuid,
        content: { hostId: this.config.hostId, domain: d.name, action: 'orphan-destroy' },
      });
    } catch (e) {
      report.actions.push({ machineId: d.uuid, action: 'orphan', ok: false, error: errorText(e) });
      this.metrics?.agentActions.inc({ action: 'orphan', outcome: 'error' });
      log.error({ err: errorText(e) }, 'could not destroy orphan domain');
    }
  }

  /** The machine was restarted on another host while this one was cut off: its old domain goes, files too. */
  private async removeMoved(d: DomainSnapshot, machineId: string, nowOn: string, tenant: string, report: CycleReport): Promise<void> {
    const log = this.log.child({ domain: d.name, uuid: d.uuid, movedTo: nowOn });
    try {
      await this.host.destroy(d.uuid);
      await this.host.undefine(d.uuid);
      await removeMachineFiles(this.config.workDir, machineId);
      this.seen.delete(d.name);
      report.actions.push({ machineId: d.uuid, action: 'orphan', ok: true });
      this.metrics?.agentActions.inc({ action: 'orphan', outcome: 'moved-removed' });
      log.warn('removed the domain of a machine that now runs on another host (HA restart)');
      await this.events.append({
        tenant, ts: this.now(), type: 'state', severity: 'medium', outcome: 'Success', resource: d.uuid,
        content: { hostId: this.config.hostId, domain: d.name, action: 'moved-domain-removed', reason: `machine now on host ${nowOn}: its old domain here was removed, not restarted` },
      });
    } catch (e) {
      report.actions.push({ machineId: d.uuid, action: 'orphan', ok: false, error: errorText(e) });
      log.error({ err: errorText(e) }, 'could not remove the domain of a moved machine');
    }
  }

  /** Forget domains that are gone (their count starts again should the name come back). */
  forgetVanished(present: ReadonlyMap<string, unknown>): void {
    for (const name of [...this.seen.keys()]) if (!present.has(name)) this.seen.delete(name);
  }
}
