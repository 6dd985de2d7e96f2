/** `skybus host list | drain | enable | remove`: hosts, their capacity, use and health (on the bus directly; operators). */
import type { Argv } from 'yargs';
import { ConflictError, NotFoundError } from '../errors/registry.js';
import { describeCondition, hostCondition, hostLivenessFromEnv } from '../schema/host-health.js';
import { removeHost } from './host-removal.js';
import { table } from './output.js';
import { storeOptions, withStore } from './store-options.js';

export function hostCommands<T>(y: Argv<T>): Argv<T> {
  return y.command('host', 'hosts: list them with their health; drain and enable for maintenance; remove one that will not come back', (h) => h
    .command('list', 'hosts, their capacity, use and health (up, unreachable, down, removed)', (a) => storeOptions(a).option('json', { type: 'boolean', default: false }),
      async (a) => withStore(a, async (s) => {
        const liveness = hostLivenessFromEnv();
        const now = Date.now();
        const [hosts, leases, beats] = await Promise.all([s.hosts.list(), s.hosts.leases(), s.hosts.heartbeats()]);
        const leaseOf = new Map(leases.map((l) => [l.hostId, l]));
        const rows = hosts.map((h) => {
          const c = hostCondition(h, leaseOf.get(h.id) ?? null, beats.get(h.id) ?? null, now, liveness);
          return {
            id: h.id, state: h.state, health: c.health, lastSeen: c.lastSeen === null ? '-' : new Date(c.lastSeen).toISOString(),
            cpus: `${h.usedCpus}/${h.cpus}`, memoryMiB: `${Math.round(h.usedMemoryKiB / 1024)}/${Math.round(h.memoryKiB / 1024)}`,
            machines: Object.keys(h.allocations).length, generation: h.generation, detail: describeCondition(c, now),
          };
        });
        process.stdout.write((a.json ? JSON.stringify(rows, null, 2) : table(rows, ['id', 'state', 'health', 'lastSeen', 'cpus', 'memoryMiB', 'machines', 'generation'])) + '\n');
      }))
    .command('remove <id>', 'a host that will not come back: HA machines restart elsewhere, the others go to ERROR, claims are released', (a) => storeOptions(a)
      .positional('id', { type: 'string', demandOption: true }),
    async (a) => withStore(a, async (s) => {
      const r = await removeHost(s, a.id as string, hostLivenessFromEnv());
      const lines = [`host ${r.hostId} removed`];
      if (r.purged.length) lines.push(`  purged (were being deleted): ${r.purged.join(', ')}`);
      for (const m of r.highlyAvailable) {
        lines.push(`  highly available, placement restarts it elsewhere ${m.restartAt === null ? 'never (no heartbeat ever: its fencing window is unknown)' : m.restartAt <= Date.now() ? 'now' : `after ${new Date(m.restartAt).toISOString()}`}: ${m.machineId}`);
      }
      if (r.errored.length) lines.push(`  now ERROR, claims released: ${r.errored.join(', ')}`);
      process.stdout.write(lines.join('\n') + '\n');
    }))
    .command('drain <id>', 'maintenance: no new machines go to the host; lists what still runs there', (a) => storeOptions(a)
      .positional('id', { type: 'string', demandOption: true }),
    async (a) => withStore(a, async (s) => {
      const id = a.id as string;
      const h = await s.hosts.get(id);
      if (!h) throw new NotFoundError(`no host '${id}'`);
      if (h.state === 'REMOVED') throw new ConflictError(`host ${id} was removed: a removed host stays removed`);
      const on = await s.hosts.setState(id, 'DISABLED');
      const machines = await s.machines.listOnHost(id);
      const lines = [`host ${id} drained: placement sends it no new machines (skybus host enable ${id} undoes it)`];
      lines.push(machines.length === 0 ? '  nothing runs there: it can be taken down' : `  still there (${machines.length}): ${machines.map((m) => `${m.machineId} ${m.name ? `(${m.name}) ` : ''}${m.desiredState}`).join(', ')}`);
      lines.push(`  claimed: ${on.usedCpus} vCPUs, ${Math.round(on.usedMemoryKiB / 1024)} MiB`);
      process.stdout.write(lines.join('\n') + '\n');
    }))
    .command('enable <id>', 'undo a drain: placement may send the host new machines again', (a) => storeOptions(a)
      .positional('id', { type: 'string', demandOption: true }),
    async (a) => withStore(a, async (s) => {
      const id = a.id as string;
      const h = await s.hosts.get(id);
      if (!h) throw new NotFoundError(`no host '${id}'`);
      if (h.state === 'REMOVED') throw new ConflictError(`host ${id} was removed: a removed host stays removed (give a rebuilt host a new id)`);
      await s.hosts.setState(id, 'ENABLED');
      process.stdout.write(`host ${id} enabled\n`);
    }))
    .demandCommand(1, 'name a host command'), () => undefined);
}
