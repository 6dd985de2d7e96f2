/**
 * Self-fencing policies (hypervisor-agent/fencing.ts): scope 'ha' touches only highly available guests,
 * scope 'all' every guest; action 'pause' pauses instead of destroying; nothing is done while fenced;
 * once a heartbeat is written again the agent converges its guests back by itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HypervisorAgent } from '../../../hypervisor-agent/agent.js';
import { agentConfig, type AgentConfigInput } from '../../../hypervisor-agent/config.js';
import { LibvirtHost } from '../../../hypervisor-agent/libvirt-host.js';
import { writeTestHost } from '../../../hypervisor-agent/test-host.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import type { MachineSpec } from '../../../schema/types.js';
import { cuttableStore } from '../../helpers/cut-store.js';
import { until } from '../../helpers/until.js';

const spec = (ha: boolean): MachineSpec => ({ cpu: 1, memoryKiB: 131072, cpuArch: 'x86_64', image: null, disks: [], userData: null, requirements: {}, ...(ha ? { highlyAvailable: true } : {}) });

describe('agent: self-fencing policies', function () {
  this.timeout(30_000);
  let dir: string;
  let store: BusStore;
  let lv: LibvirtHost;
  const stops: (() => Promise<unknown>)[] = [];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-fence-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
    lv = new LibvirtHost(writeTestHost(join(dir, 'h1.xml'), { cpus: 8, memoryKiB: 8 * 1048576 }));
    await lv.connect();
  });
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
    await lv.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function setup(over: AgentConfigInput) {
    const cut = cuttableStore(store.driver);
    const a = new HypervisorAgent({ store: cut.store, libvirt: lv, config: agentConfig({ hostId: 'h1', libvirtUri: lv.uri, intervalMs: 100, leaseTtlSeconds: 1, fenceAfterMs: 1000, workDir: join(dir, 'w'), ...over }) });
    stops.push(() => a.stop());
    await a.start();
    const ids: string[] = [];
    for (const ha of [true, false]) {
      const m = await store.machines.create({ tenant: 'acme', name: ha ? 'ha' : 'plain', spec: spec(ha), desiredState: 'STARTED' });
      const host = (await store.hosts.get('h1'))!;
      assert.ok((await store.hosts.claim(host, m.id, { cpus: 1, memoryKiB: 131072 })).ok);
      assert.ok(await store.machines.assignHost(m.id, 'h1'));
      ids.push(m.id);
    }
    const state = async (id: string) => (await lv.lookup(id))?.state ?? 'none';
    await until('both running', 10_000, async () => (await state(ids[0]!)) === 'running' && (await state(ids[1]!)) === 'running' || null, 25);
    return { a, cut, ha: ids[0]!, plain: ids[1]!, state };
  }

  it('scope ha, action destroy (the defaults): the HA guest is destroyed, the other runs on; the agent acts on nothing while fenced, then starts it again', async () => {
    const { a, cut, ha, plain, state } = await setup({});
    cut.cut();
    await until('fenced', 5_000, async () => a.isFenced || null, 25);
    // Fenced is set when the watchdog starts fencing; the destroy follows (under load, not at once).
    await until('HA guest destroyed', 5_000, async () => (await state(ha)) === 'shutoff' || null, 25);
    assert.equal(await state(plain), 'running');
    // Still fenced: the cycle does nothing (it cannot read the bus anyway, and must not act on what it remembers).
    await a.runOnce().catch(() => undefined);
    assert.equal(await state(ha), 'shutoff');
    cut.heal();
    await until('HA guest started again under a fresh lease', 10_000, async () => (!a.isFenced && (await state(ha)) === 'running') || null, 25);
  });

  it('scope all, action pause: every guest is paused, and resumed once the agent is heard again', async () => {
    const { a, cut, ha, plain, state } = await setup({ fenceScope: 'all', fenceAction: 'pause' });
    cut.cut();
    await until('fenced', 5_000, async () => a.isFenced || null, 25);
    await until('both paused', 5_000, async () => ((await state(ha)) === 'paused' && (await state(plain)) === 'paused') || null, 25);
    cut.heal();
    await until('both running again', 10_000, async () => ((await state(ha)) === 'running' && (await state(plain)) === 'running') || null, 25);
  });

  it('fencing settings are checked by name', () => {
    assert.throws(() => agentConfig({ leaseTtlSeconds: 15, fenceAfterMs: 5000 }), /fenceAfterMs \(5000ms\) must be at least leaseTtlSeconds/);
    assert.throws(() => agentConfig({ fenceAction: 'explode' as 'pause' }), /fenceAction must be 'destroy' or 'pause'/);
    assert.throws(() => agentConfig({ fenceScope: 'some' as 'ha' }), /fenceScope must be 'ha' or 'all'/);
    assert.equal(agentConfig({ leaseTtlSeconds: 120 }).fenceAfterMs, 240_000, 'default: twice the lease TTL when that is more than 30 s');
  });
});
