/**
 * Opt-in: the agent against a real libvirtd + QEMU (TCG) with the tiny guest of scripts/qemu.
 * Runs only with SKYBUS_AGENT_QEMU=1 (as root, after scripts/qemu/libvirtd.sh start and
 * scripts/qemu/build-guest.sh into SKYBUS_GUEST_DIR, default ~/.cache/skybus/guest).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HypervisorAgent } from '../../../hypervisor-agent/agent.js';
import { agentConfig } from '../../../hypervisor-agent/config.js';
import { machinePaths } from '../../../hypervisor-agent/domain-xml.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import type { DesiredState, Machine } from '../../../schema/types.js';
import { until as poll } from '../../helpers/until.js';

const GUEST = process.env.SKYBUS_GUEST_DIR ?? join(homedir(), '.cache', 'skybus', 'guest');
const enabled = process.env.SKYBUS_AGENT_QEMU === '1' && existsSync(join(GUEST, 'vmlinuz'));

const until = <T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number) => poll(what, timeoutMs, fn, 200);

(enabled ? describe : describe.skip)('agent: real QEMU guest (opt-in)', function () {
  this.timeout(180_000);
  let dir: string;
  let store: BusStore;
  let agent: HypervisorAgent;
  const hostId = `qemu-${process.pid}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-agent-qemu-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    agent = new HypervisorAgent({
      store,
      config: agentConfig({ hostId, libvirtUri: 'qemu:///system', intervalMs: 250, stopGraceMs: 30_000, workDir: join(dir, 'work'), domainPrefix: 'skybustest-', metricsEveryMs: 1000 }),
    });
    await agent.start();
  });
  after(async () => {
    await agent?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function change(id: string, desiredState: DesiredState): Promise<Machine> {
    const m = (await store.machines.get(id))!;
    return store.machines.updateSpec(id, m.generation, { desiredState });
  }
  async function settled(id: string, state: string, ms: number): Promise<Machine> {
    return until(`${state}`, async () => {
      const m = await store.machines.get(id);
      return m && m.status.state === state && m.status.converged && m.status.observedGeneration === m.generation && m.status.error === null ? m : null;
    }, ms);
  }

  it('boots the guest with user data, suspends/restores, stops gracefully, deletes', async () => {
    const userData = Buffer.from('hello from skybus\nsecond line').toString('base64');
    const m = await store.machines.create({
      tenant: 'acme', name: 'tiny', desiredState: 'STARTED',
      spec: {
        cpu: 1, memoryKiB: 128 * 1024, cpuArch: 'x86_64', disks: [], userData, requirements: {},
        image: { id: 'tiny', name: 'tiny', format: 'kernel', location: join(GUEST, 'vmlinuz'), initrd: join(GUEST, 'initramfs.gz'), cmdline: 'console=ttyS0 quiet', cpuArch: 'x86_64' },
      },
    });
    const h = (await store.hosts.get(hostId))!;
    assert.ok((await store.hosts.claim(h, m.id, { cpus: 1, memoryKiB: 128 * 1024 })).ok);
    assert.ok(await store.machines.assignHost(m.id, hostId));
    await settled(m.id, 'STARTED', 30_000);
    const log = machinePaths(agent.config.workDir, m.id).consoleLog;
    await until('guest banner and user data', () => {
      const t = existsSync(log) ? readFileSync(log, 'utf8') : '';
      return t.includes('SKYBUS-USERDATA: hello from skybus') && t.includes('SKYBUS-USERDATA: second line') && t.includes(`uuid=${m.id}`);
    }, 90_000);

    await change(m.id, 'SUSPENDED');
    await settled(m.id, 'SUSPENDED', 60_000);
    assert.ok(existsSync(machinePaths(agent.config.workDir, m.id).saveFile));
    await change(m.id, 'STARTED');
    await settled(m.id, 'STARTED', 60_000);

    await change(m.id, 'STOPPED');
    await settled(m.id, 'STOPPED', 40_000);
    assert.match(readFileSync(log, 'utf8'), /SKYBUS-GUEST-POWEROFF reason=acpi-power-button/, 'graceful: the guest saw the power button');

    await change(m.id, 'DELETED');
    await until('rows purged', async () => (await store.machines.get(m.id)) === null, 30_000);
    assert.equal(await agent.libvirt.lookup(m.id), null);
    assert.equal((await store.hosts.get(hostId))!.usedCpus, 0);
  });
});
