import assert from 'node:assert/strict';
import * as libvirt from '@unraid/libvirt';
import { buildDomainXml, domainInterfaces, libvirtNetworkFor } from '../../../hypervisor-agent/domain-xml.js';
import { LeaseReader, parseLeases } from '../../../hypervisor-agent/nic-addresses.js';
import type { HostMachine, NicSpec } from '../../../schema/types.js';

const ID = '01900000-0000-7000-8000-0000000000ab';
const pub: NicSpec = { network: 'n-pub', networkName: 'public', hostGroups: [{ hostLabels: { zone: 'a' }, libvirtNetwork: 'default' }, { hostLabels: { zone: 'b' }, libvirtNetwork: "pub-b'x" }] };
const machine = (nics: NicSpec[]): HostMachine => ({
  hostId: 'h1', machineId: ID, tenant: 'acme', name: 'nic',
  spec: { cpu: 1, memoryKiB: 65536, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {}, networkInterfaces: nics },
  desiredState: 'STARTED', restartSeq: 0, generation: 1,
});
const opts = (labels: Record<string, string>) => ({ domainType: 'test' as const, prefix: 'skybus-', workDir: '/w', hostId: 'h1', hostLabels: labels });

describe('agent: network interfaces in the domain XML', () => {
  it('one virtio interface per network, on the libvirt network of the host\'s group', () => {
    const xml = buildDomainXml(machine([pub, pub]), opts({ zone: 'a', rack: '1' }));
    const ifs = xml.match(/<interface type='network'>\s*<source network='default'\/>\s*<model type='virtio'\/>\s*<\/interface>/g);
    assert.equal(ifs?.length, 2);
    // Another group's name, escaped.
    assert.match(buildDomainXml(machine([pub]), opts({ zone: 'b' })), /<source network='pub-b&apos;x'\/>/);
    assert.doesNotMatch(buildDomainXml(machine([]), opts({})), /<interface/);
  });

  it('a host in none of the network\'s groups cannot build the domain, and says why', () => {
    assert.throws(() => libvirtNetworkFor(pub, { zone: 'c' }), /no host group of network 'public'/);
    assert.throws(() => buildDomainXml(machine([pub]), opts({})), /no host group/);
  });

  it('the test driver gives each interface a MAC; it is read back in order with its network', async () => {
    const hv = new libvirt.Hypervisor({ uri: 'test:///default' });
    await hv.connectOpen();
    try {
      const d = await hv.domainDefineXML(buildDomainXml(machine([pub, { ...pub, hostGroups: [{ hostLabels: {}, libvirtNetwork: 'other' }] }]), opts({ zone: 'a' })));
      const seen = domainInterfaces(await hv.domainGetXMLDesc(d));
      assert.equal(seen.length, 2);
      for (const s of seen) assert.match(s.macAddress!, /^52:54:00(:[0-9a-f]{2}){3}$/);
      assert.deepEqual(seen.map((s) => s.network), ['default', 'other']);
      assert.notEqual(seen[0]!.macAddress, seen[1]!.macAddress);
      await hv.domainUndefine(d);
    } finally {
      await hv.connectClose();
    }
  });
});

describe('agent: DHCP leases', () => {
  const out = [
    ' 2026-12-02 15:01:02   52:54:00:aa:bb:cc   ipv4       192.168.122.45/24   guest     01:52:54:00:aa:bb:cc',
    ' 2026-12-02 15:01:02   52:54:00:AA:BB:CC   ipv6       fd00::10/64         guest     -',
    ' 2026-12-02 15:01:02   52:54:00:dd:ee:ff   ipv4       192.168.122.46/24   -         -',
    'garbage line',
  ].join('\n');

  it('parses virsh net-dhcp-leases into MAC and address', () => {
    assert.deepEqual(parseLeases(out), [
      { macAddress: '52:54:00:aa:bb:cc', ip: '192.168.122.45' },
      { macAddress: '52:54:00:aa:bb:cc', ip: 'fd00::10' },
      { macAddress: '52:54:00:dd:ee:ff', ip: '192.168.122.46' },
    ]);
  });

  it('asks libvirt at most once per network per cache period, and backs off when virsh fails', async () => {
    let t = 0;
    let calls = 0;
    let fail = false;
    const r = new LeaseReader('qemu:///system', true, () => t, async () => { calls++; if (fail) throw new Error('no virsh'); return out; }, 1000, 5000);
    assert.deepEqual(await r.addresses('default', '52:54:00:AA:bb:cc'), ['192.168.122.45', 'fd00::10']);
    assert.deepEqual(await r.addresses('default', '52:54:00:dd:ee:ff'), ['192.168.122.46']);
    assert.equal(calls, 1);
    t = 1000; fail = true;
    assert.deepEqual(await r.addresses('default', '52:54:00:dd:ee:ff'), []);
    t = 2000; fail = false;
    assert.deepEqual(await r.addresses('default', '52:54:00:dd:ee:ff'), []); // still backing off
    assert.equal(calls, 2);
    t = 7000;
    assert.deepEqual(await r.addresses('default', '52:54:00:dd:ee:ff'), ['192.168.122.46']);
    const off = new LeaseReader('test:///default', false, () => 0, async () => { throw new Error('never called'); });
    assert.deepEqual(await off.addresses('default', '52:54:00:aa:bb:cc'), []);
  });
});
