/** The agent and a machine's network interfaces (docs/networks.md): domain XML, MACs in status, a host outside the network's groups. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HypervisorAgent } from '../../../hypervisor-agent/agent.js';
import { agentConfig } from '../../../hypervisor-agent/config.js';
import { domainInterfaces } from '../../../hypervisor-agent/domain-xml.js';
import { LibvirtHost } from '../../../hypervisor-agent/libvirt-host.js';
import { writeTestHost } from '../../../hypervisor-agent/test-host.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import type { Machine, MachineSpec, Network } from '../../../schema/types.js';

describe('agent: machine network interfaces', function () {
  this.timeout(20_000);
  let dir: string;
  let store: BusStore;
  let lv: LibvirtHost;
  let agent: HypervisorAgent;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-agent-net-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    const config = agentConfig({
      hostId: 'h1', libvirtUri: writeTestHost(join(dir, 'h1.xml'), { cpus: 8, memoryKiB: 8 * 1024 * 1024 }),
      intervalMs: 60_000, leaseTtlSeconds: 120, workDir: join(dir, 'work'), labels: { zone: 'a' },
    });
    lv = new LibvirtHost(config.libvirtUri);
    agent = new HypervisorAgent({ store, config, libvirt: lv });
    await agent.start();
  });
  afterEach(async () => {
    await agent.stop().catch(() => undefined);
    await lv.close().catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function placedOn(...nets: Network[]): Promise<Machine> {
    const s: MachineSpec = {
      cpu: 1, memoryKiB: 65536, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {},
      networkInterfaces: nets.map((n) => ({ network: n.id, networkName: n.name, hostGroups: n.hostGroups })),
    };
    const m = await store.machines.create({ tenant: 'acme', name: 'vm', spec: s, desiredState: 'STARTED' });
    const h = (await store.hosts.get('h1'))!;
    assert.ok((await store.hosts.claim(h, m.id, { cpus: 1, memoryKiB: 65536 })).ok);
    assert.ok(await store.machines.assignHost(m.id, 'h1'));
    return m;
  }

  it('defines one interface per network on the group\'s libvirt network and writes the MACs libvirt chose into status', async () => {
    const pub = await store.networks.create({ name: 'public', hostGroups: [{ hostLabels: { zone: 'b' }, libvirtNetwork: 'pub-b' }, { hostLabels: { zone: 'a' }, libvirtNetwork: 'default' }] });
    const all = await store.networks.create({ name: 'all', hostGroups: [{ hostLabels: {}, libvirtNetwork: 'flat' }] });
    const m = await placedOn(pub, all);
    await agent.runOnce();
    await agent.runOnce();
    const seen = domainInterfaces(await lv.xml(m.id));
    assert.deepEqual(seen.map((s) => s.network), ['default', 'flat']);
    const st = (await store.machines.get(m.id))!.status;
    assert.equal(st.state, 'STARTED');
    assert.deepEqual(st.networkInterfaces, [
      { network: pub.id, macAddress: seen[0]!.macAddress, addresses: [] },
      { network: all.id, macAddress: seen[1]!.macAddress, addresses: [] },
    ]);
    // Deleting the machine frees its networks.
    const cur = (await store.machines.get(m.id))!;
    await store.machines.updateSpec(m.id, cur.generation, { desiredState: 'DELETED' });
    await agent.runOnce();
    assert.equal(await store.machines.get(m.id), null);
    assert.deepEqual(await store.networks.users(pub.id), []);
    assert.deepEqual(await store.networks.remove(all.id), []);
  });

  it('a host in none of the network\'s groups does not define the domain: ERROR naming the network', async () => {
    const b = await store.networks.create({ name: 'only-b', hostGroups: [{ hostLabels: { zone: 'b' }, libvirtNetwork: 'default' }] });
    const m = await placedOn(b);
    await agent.runOnce();
    const st = (await store.machines.get(m.id))!.status;
    assert.equal(st.state, 'ERROR');
    assert.match(st.error!, /no host group of network 'only-b'/);
    assert.equal(await lv.lookup(m.id), null);
    assert.deepEqual(st.networkInterfaces, [{ network: b.id, macAddress: null, addresses: [] }]);
  });
});
