/**
 * Carrying out one decided action on libvirt and the machine's files (finishDelete, on the bus, and
 * capture, which writes the image's status, are machine-sync's: disk-capture.ts). Each libvirt call
 * is named with step() just before it is made, so an action that hangs says which call did
 * (libvirt-call-guard.ts).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import type { HostMachine } from '../schema/types.js';
import type { AgentConfig } from './config.js';
import type { Action } from './decide.js';
import { prepareMachineFiles, removeMachineFiles, removeSaveFile } from './disks.js';
import { buildDomainXml, machinePaths } from './domain-xml.js';
import type { LibvirtHost } from './libvirt-host.js';

export type LibvirtAction = Exclude<Action, 'finishDelete' | 'capture'>;

export async function takeAction(action: LibvirtAction, m: HostMachine, host: LibvirtHost, config: AgentConfig, step: (call: string) => void = () => undefined): Promise<void> {
  const id = m.machineId;
  const call = <T>(name: string, fn: () => Promise<T>): Promise<T> => { step(name); return fn(); };
  const paths = machinePaths(config.workDir, m);
  const xml = (): string => buildDomainXml(m, { domainType: host.domainType, prefix: config.domainPrefix, workDir: config.workDir, hostId: config.hostId, hostLabels: config.labels });
  switch (action) {
    case 'none': return;
    case 'define':
    case 'redefine':
      await prepareMachineFiles(m, config.workDir, host.domainType);
      await call('virDomainDefineXML', () => host.define(xml()));
      return;
    case 'create':
      await prepareMachineFiles(m, config.workDir, host.domainType);
      await call('virDomainDefineXML', () => host.define(xml()));
      await call('virDomainCreate', () => host.start(id));
      return;
    case 'start': return call('virDomainCreate', () => host.start(id));
    case 'shutdown': return call('virDomainShutdown', () => host.shutdown(id));
    case 'destroy': return call('virDomainDestroy', () => host.destroy(id));
    case 'pause': return call('virDomainSuspend', () => host.suspend(id));
    case 'resume': return call('virDomainResume', () => host.resume(id));
    case 'save': {
      // Written aside then renamed: a half-written file must never look like a SUSPENDED machine.
      await mkdir(paths.dir, { recursive: true });
      const partial = `${paths.saveFile}.partial`;
      await rm(partial, { force: true });
      await call('virDomainSave', () => host.save(id, partial));
      await rename(partial, paths.saveFile);
      return;
    }
    case 'restore':
      await call('virDomainRestore', () => host.restore(paths.saveFile));
      await removeSaveFile(config.workDir, id);
      return;
    case 'discardSave': return removeSaveFile(config.workDir, id);
    case 'restart':
      // The binding has no reboot: destroy + start, each named.
      await call('virDomainDestroy', () => host.destroy(id));
      await call('virDomainCreate', () => host.start(id));
      return;
    case 'delete': {
      const snap = await call('virDomainLookupByUUIDString', () => host.lookup(id));
      if (snap) {
        await call('virDomainDestroy', () => host.destroy(id));
        await call('virDomainUndefine', () => host.undefine(id));
      }
      await removeMachineFiles(config.workDir, id);
      return;
    }
    case 'orphan': return;
  }
}
