import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { buildDomainXml, domainName, domainTitle, KERNEL_CMDLINE_MAX_BYTES, kernelCmdline, machinePaths, metadataHost, userDataWord, xmlEscape } from '../../../hypervisor-agent/domain-xml.js';
import { guestUserData } from '../../../frontend/nocloud-user-data.js';
import { rsaPublicKey } from '../../helpers/ssh-keys.js';
import { testNodeXml } from '../../../hypervisor-agent/test-host.js';
import type { HostMachine, ImageRef } from '../../../schema/types.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, isArray: (n) => n === 'disk' || n === 'entry' });
const ID = '01900000-0000-7000-8000-0000000000aa';
const WORK = '/var/lib/skybus/agent/h1';

function machine(image: ImageRef | null, userData: string | null = null, extra: Partial<HostMachine['spec']> = {}): HostMachine {
  return {
    hostId: 'h1', machineId: ID, tenant: 'acme', name: 'web <1> & "two"',
    spec: { cpu: 2, memoryKiB: 262144, cpuArch: 'x86_64', image, disks: [], userData, requirements: {}, ...extra },
    desiredState: 'STARTED', restartSeq: 0, generation: 3,
  };
}
const kernel: ImageRef = { id: 'img1', name: 'tiny', format: 'kernel', location: '/images/vmlinuz', initrd: '/images/initrd.img', cmdline: 'console=ttyS0 quiet', cpuArch: 'x86_64' };
const qcow: ImageRef = { id: 'img2', name: 'deb', format: 'qcow2', location: "/images/deb&'12'.qcow2", initrd: null, cmdline: null, cpuArch: 'x86_64' };

function parse(xml: string) {
  return parser.parse(xml).domain;
}

describe('agent: domain XML', function () {
  this.timeout(60_000); // an RSA 4096 key pair takes seconds to generate on a loaded machine
  it('names, identifies and sizes the domain', () => {
    const d = parse(buildDomainXml(machine(null), { domainType: 'test', prefix: 'skybus-', workDir: WORK, hostId: 'h1' }));
    assert.equal(d['@type'], 'test');
    assert.equal(d.name, domainName('skybus-', ID));
    assert.equal(d.uuid, ID);
    assert.equal(d.title, 'web <1> & "two"');
    assert.equal(d.memory['#text'], '262144');
    assert.equal(d.memory['@unit'], 'KiB');
    assert.equal(d.vcpu['#text'], '2');
    assert.equal(d.os.type['@arch'], 'x86_64');
    assert.equal(d.os.type['@machine'], 'pc');
    assert.equal(d.devices.disk, undefined, 'diskless');
    assert.equal(d.devices.serial['@type'], 'file');
    assert.equal(d.devices.serial.source['@path'], machinePaths(WORK, ID).consoleLog);
    assert.equal(d.devices.console['@type'], 'file');
  });

  it('kernel images boot directly, userData on the kernel command line', () => {
    const xml = buildDomainXml(machine(kernel, 'aGVsbG8gd29ybGQ='), { domainType: 'qemu', prefix: 'skybus-', workDir: WORK, hostId: 'h1' });
    const d = parse(xml);
    assert.equal(d['@type'], 'qemu');
    assert.equal(d.os.kernel, '/images/vmlinuz');
    assert.equal(d.os.initrd, '/images/initrd.img');
    assert.equal(d.os.cmdline, 'console=ttyS0 quiet skybus.userdata=aGVsbG8gd29ybGQ=');
    assert.equal(d.sysinfo, undefined);
  });

  it('disk images get a qcow2 overlay, userData in SMBIOS OEM strings, extra disks', () => {
    const xml = buildDomainXml(machine(qcow, 'dXNlcg==', { disks: [{ capacityKiB: 1024, format: 'raw' }] }), { domainType: 'qemu', prefix: 'skybus-', workDir: WORK, hostId: 'h1' });
    const d = parse(xml);
    const p = machinePaths(WORK, machine(qcow, null, { disks: [{ capacityKiB: 1024, format: 'raw' }] }));
    assert.equal(d.devices.disk.length, 2);
    assert.equal(d.devices.disk[0].source['@file'], p.overlay);
    assert.equal(d.devices.disk[0].driver['@type'], 'qcow2');
    assert.equal(d.devices.disk[0].target['@dev'], 'vda');
    assert.equal(d.devices.disk[1].driver['@type'], 'raw');
    assert.equal(d.devices.disk[1].target['@dev'], 'vdb');
    assert.equal(d.sysinfo['@type'], 'smbios');
    assert.deepEqual(d.sysinfo.oemStrings.entry, ['skybus.userdata=dXNlcg==']);
    assert.equal(d.os.smbios['@mode'], 'sysinfo');
    assert.equal(d.os.kernel, undefined);
  });

  it('escapes everything that reaches XML, and records the host in metadata', () => {
    const evil = machine({ ...kernel, location: "/x/</kernel><evil a='1'>&", cmdline: "a<b & c'" });
    const xml = buildDomainXml(evil, { domainType: 'test', prefix: 'skybus-', workDir: "/w/'&<", hostId: 'h1' });
    const d = parse(xml);
    assert.equal(d.evil, undefined);
    assert.equal(d.os.kernel, "/x/</kernel><evil a='1'>&");
    assert.equal(d.os.cmdline, "a<b & c'");
    assert.equal(metadataHost(xml), 'h1');
    assert.equal(xmlEscape('\u0001a&'), 'a&amp;');
  });

  it('the title never carries control characters (libvirt refuses newlines in a title)', () => {
    const opts = { domainType: 'test' as const, prefix: 'skybus-', workDir: WORK, hostId: 'h1' };
    const d = parse(buildDomainXml({ ...machine(null), name: '\nweb\r\nserver\u0000\u0007\tone\u0085two\u2028three\u007f\n' }, opts));
    assert.equal(d.title, 'web server one two three');
    assert.equal(domainTitle('plain  name', ID), 'plain  name', 'a clean name is left as it is');
    assert.equal(domainTitle('\n\r\t', ID), ID, 'nothing left: the machine id');
    assert.equal(domainTitle('', ID), ID);
    assert.equal(parse(buildDomainXml({ ...machine(null), name: '' }, opts)).title, ID);
  });

  it('userData is one command-line word', () => {
    assert.equal(userDataWord(null), null);
    assert.equal(userDataWord('aGVs\nbG8='), 'aGVsbG8=');
    assert.equal(userDataWord('not base64!'), Buffer.from('not base64!').toString('base64'));
  });

  it('credential user data (NoCloud) reaches the kernel command line and SMBIOS intact; an RSA 4096 key fits the kernel limit', () => {
    const key = rsaPublicKey(4096, 'ops@bastion.example.com');
    for (const own of [null, Buffer.from('#!/bin/sh\necho hi\n').toString('base64')]) {
      const ud = guestUserData([key], own)!;
      const k = parse(buildDomainXml(machine(kernel, ud), { domainType: 'qemu', prefix: 'skybus-', workDir: WORK, hostId: 'h1' }));
      assert.equal(k.os.cmdline, kernelCmdline(kernel.cmdline, ud));
      const word = /skybus\.userdata=(\S+)/.exec(k.os.cmdline)![1]!;
      assert.match(Buffer.from(word, 'base64').toString('utf8'), new RegExp(`ssh_authorized_keys:\n  - "${key.replace(/[+/]/g, '\\$&')}"\n`));
      assert.ok(Buffer.byteLength(k.os.cmdline) <= KERNEL_CMDLINE_MAX_BYTES, `${Buffer.byteLength(k.os.cmdline)} bytes`);
      const q = parse(buildDomainXml(machine(qcow, ud), { domainType: 'qemu', prefix: 'skybus-', workDir: WORK, hostId: 'h1' }));
      assert.equal(q.sysinfo.oemStrings.entry[0], `skybus.userdata=${ud}`);
    }
  });

  it('aarch64 machines use the virt machine type', () => {
    const d = parse(buildDomainXml(machine(null, null, { cpuArch: 'aarch64' }), { domainType: 'qemu', prefix: 'skybus-', workDir: WORK, hostId: 'h1' }));
    assert.equal(d.os.type['@machine'], 'virt');
  });

  it('test node XML declares cpus and memory', () => {
    const n = parser.parse(testNodeXml({ cpus: 6, memoryKiB: 4194304 })).node;
    assert.equal(n.memory, '4194304');
    assert.equal(n.cpu.active, '6');
  });
});
