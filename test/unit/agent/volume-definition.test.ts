/** Volumes in a machine's domain definition (docs/volumes.md): the XML, reading it back, and the redefine decision. */
import assert from 'node:assert/strict';
import { decide } from '../../../hypervisor-agent/decide.js';
import { buildDomainXml, definedVolumes, volumePath, wantedVolumes } from '../../../hypervisor-agent/domain-xml.js';
import type { HostMachine } from '../../../schema/types.js';

const WORK = '/var/lib/skybus/agent/h1';
const VOL = '01900000-0000-7000-8000-0000000000bb';

function machine(desiredState: HostMachine['desiredState'] = 'STOPPED', volumes: HostMachine['volumes'] = []): HostMachine {
  return {
    hostId: 'h1', machineId: '01900000-0000-7000-8000-0000000000aa', tenant: 'acme', name: 'm',
    spec: { cpu: 1, memoryKiB: 262144, cpuArch: 'x86_64', image: null, disks: [{ capacityKiB: 1024, format: 'raw' }], userData: null, requirements: {} },
    desiredState, restartSeq: 0, generation: 1, volumes,
  };
}

describe('agent: volumes in the domain definition', () => {
  const path = volumePath(WORK, VOL, 'qcow2');
  const m = machine('STOPPED', [{ volumeId: VOL, device: 'vdc', path, format: 'qcow2' }]);

  it('the XML holds each attached volume at its device, with its format and a serial; reading it back finds only volumes', () => {
    assert.equal(path, `${WORK}/volumes/${VOL}.qcow2`);
    const xml = buildDomainXml(m, { domainType: 'qemu', prefix: 'skybus-', workDir: WORK, hostId: 'h1' });
    assert.match(xml, new RegExp(`<driver name='qemu' type='qcow2'/>\\s*<source file='${path}'/>\\s*<target dev='vdc' bus='virtio'/>\\s*<serial>01900000000070008000</serial>`));
    // The machine's own extra disk (vdb) is not a volume.
    assert.deepEqual(definedVolumes(xml, WORK), [`vdc=${path}`]);
    assert.deepEqual(wantedVolumes(m), [`vdc=${path}`]);
    assert.deepEqual(definedVolumes(buildDomainXml(machine(), { domainType: 'qemu', prefix: 'skybus-', workDir: WORK, hostId: 'h1' }), WORK), []);
    // libvirt's own rendering uses double quotes and more attributes.
    assert.deepEqual(definedVolumes(`<disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="${WORK}/volumes/x.raw" index="2"/><target dev="vdd" bus="virtio"/></disk>`, WORK), [`vdd=${WORK}/volumes/x.raw`]);
  });

  it('a stale definition is redefined only when nothing else is to be done, and never for a machine being deleted', () => {
    const base = { memory: { shutdownRequestedAt: null, restartedSeq: 0 }, now: 0, stopGraceMs: 1000, volumesStale: true };
    assert.equal(decide({ ...base, desired: m, observed: { state: 'shutoff', saved: false } }), 'redefine');
    assert.equal(decide({ ...base, desired: machine('STARTED'), observed: { state: 'running', saved: false } }), 'redefine');
    assert.equal(decide({ ...base, desired: machine('STARTED'), observed: { state: 'shutoff', saved: false } }), 'start');
    assert.equal(decide({ ...base, desired: machine('DELETED'), observed: { state: 'shutoff', saved: false } }), 'delete');
    assert.equal(decide({ ...base, desired: m, observed: null }), 'define');
    assert.equal(decide({ ...base, volumesStale: false, desired: m, observed: { state: 'shutoff', saved: false } }), 'none');
  });
});
