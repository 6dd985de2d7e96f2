/**
 * Carrying out one decided action on libvirt and the machine's files (finishDelete, on the bus, and
 * capture, which writes the image's status, are machine-sync's: disk-capture.ts).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import type { HostMachine } from '../schema/types.js';
import type { AgentConfig } from './config.js';
import type { Action } from './decide.js';
import { prepareMachineFiles, removeMachineFiles, removeSaveFile } from './disks.js';
import { buildDomainXml, machinePaths } from './domain-xml.js';
import type { LibvirtHost } from './libvirt-host.js';

export type LibvirtAction = Exclude<Action, 'finishDelete' | 'capture'>;

export async function takeAction(action: LibvirtAction, m: HostMachine, host: LibvirtHost, config: AgentConfig): Promise<void> {
  const id = m.machineId;
  const paths = machinePaths(config.workDir, m);
  const xml = (): string => buildDomainXml(m, { domainType: host.domainType, prefix: config.domainPrefix, workDir: config.workDir, hostId: config.hostId, hostLabels: config.labels });
  switch (action) {
    case 'none': return;
    case 'define':
    case 'redefine':
      await prepareMachineFiles(m, config.workDir, host.domainType);
      await host.define(xml());
      return;
    case 'create':
      await prepareMachineFiles(m, config.workDir, host.domainType);
      await host.define(xml());
      await host.start(id);
      return;
    case 'start': return host.start(id);
    case 'shutdown': return host.shutdown(id);
    case 'destroy': return host.destroy(id);
    case 'pause': return host.suspend(id);
    case 'resume': return host.resume(id);
    case 'save': {
      // Written aside then renamed: a half-written file must never look like a SUSPENDED machine.
      await mkdir(paths.dir, { recursive: true });
      const partial = `${paths.saveFile}.partial`;
      await rm(partial, { force: true });
      await host.save(id, partial);
      await rename(partial, paths.saveFile);
      return;
    }
    case 'restore':
      await host.restore(paths.saveFile);
      await removeSaveFile(config.workDir, id);
      return;
    case 'discardSave': return removeSaveFile(config.workDir, id);
    case 'restart': return host.restart(id);
    case 'delete': {
      const snap = await host.lookup(id);
      if (snap) {
        await host.destroy(id);
        await host.undefine(id);
      }
      await removeMachineFiles(config.workDir, id);
      return;
    }
    case 'orphan': return;
  }
}
