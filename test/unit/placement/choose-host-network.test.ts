import assert from 'node:assert/strict';
import { chooseHosts } from '../../../placement/choose-host.js';
import type { Host, MachineSpec, NicSpec } from '../../../schema/types.js';

const ratios = { cpuAllocationRatio: 1, ramAllocationRatio: 1 };
const host = (id: string, labels: Record<string, string>): Host => ({
  id, name: id, uri: 'test:///default', arch: 'x86_64', cpus: 4, memoryKiB: 1 << 22, labels, state: 'ENABLED', generation: 0,
  usedCpus: 0, usedMemoryKiB: 0, allocations: {}, registered: 0, updated: 0,
});
const nic = (name: string, ...groups: Record<string, string>[]): NicSpec => ({
  network: `id-${name}`, networkName: name, hostGroups: groups.map((hostLabels, i) => ({ hostLabels, libvirtNetwork: `lv${i}` })),
});
const spec = (...nics: NicSpec[]): MachineSpec => ({ cpu: 1, memoryKiB: 1024, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {}, networkInterfaces: nics });

describe('placement: a machine\'s networks', () => {
  const hosts = [host('a1', { zone: 'a' }), host('a2', { zone: 'a', rack: '2' }), host('b1', { zone: 'b' }), host('c1', {})];
  const alive = new Set(hosts.map((h) => h.id));

  it('only hosts in a host group of the network are candidates', () => {
    const c = chooseHosts(spec(nic('public', { zone: 'a' })), hosts, alive, 'striping', ratios);
    assert.deepEqual(c.candidates.map((h) => h.id).sort(), ['a1', 'a2']);
  });

  it('a network with several host groups: a host of any group; several networks: a host on every one', () => {
    assert.deepEqual(chooseHosts(spec(nic('wide', { zone: 'a', rack: '2' }, { zone: 'b' })), hosts, alive, 'striping', ratios).candidates.map((h) => h.id).sort(), ['a2', 'b1']);
    assert.deepEqual(chooseHosts(spec(nic('public', { zone: 'a' }), nic('storage', { rack: '2' })), hosts, alive, 'striping', ratios).candidates.map((h) => h.id), ['a2']);
    // A group without labels is every host.
    assert.equal(chooseHosts(spec(nic('flat', {})), hosts, alive, 'striping', ratios).candidates.length, 4);
  });

  it('no host on the network: unschedulable, and both the reason and the summary name the network', () => {
    const c = chooseHosts(spec(nic('dmz', { zone: 'z' })), hosts, alive, 'striping', ratios);
    assert.deepEqual(c.candidates, []);
    assert.match(c.reason!, /4 not on network 'dmz'/);
    assert.equal(c.summary, "no available host is on network 'dmz'");
  });

  it('a machine without interfaces is placed as before', () => {
    assert.equal(chooseHosts({ ...spec(), networkInterfaces: undefined }, hosts, alive, 'striping', ratios).candidates.length, 4);
  });
});
