/**
 * The agent's volume loop on its own (hypervisor-agent/volume-sync.ts), on the embedded store: a
 * file that cannot be made is an ERROR status (and one event, not one per attempt) that fails the
 * Job; qemu-img makes the file of the volume's format and size; a detached volume asked to go is
 * removed and purged, but never while a machine's definition still holds it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settleVolume } from '../../../frontend/volume-job-settlement.js';
import { agentConfig } from '../../../hypervisor-agent/config.js';
import { emptyReport } from '../../../hypervisor-agent/cycle-report.js';
import { AgentEvents } from '../../../hypervisor-agent/event-log.js';
import { VolumeSync } from '../../../hypervisor-agent/volume-sync.js';
import { silentLogger } from '../../../observability/logger.js';
import { openStore, type BusStore } from '../../../schema/bus-store.js';
import { newId } from '../../../schema/ids.js';

const HOST = 'vs-host';
const qemuImg = (() => { try { execFileSync('qemu-img', ['--version']); return true; } catch { return false; } })();

describe('agent: volume sync', () => {
  let dir: string;
  let store: BusStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skybus-vsync-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'bus.sqlite') });
  });
  afterEach(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  const sync = (workDir: string) => new VolumeSync({
    store, config: agentConfig({ hostId: HOST, workDir }), domainType: 'qemu', log: silentLogger(), now: Date.now,
    events: new AgentEvents(store, HOST, silentLogger(), Date.now),
  });
  async function placedVolume(format: 'qcow2' | 'raw' = 'qcow2') {
    const v = await store.volumes.create({ tenant: 'acme', name: 'v', spec: { capacityKiB: 2048, format, configId: null, templateId: null } });
    const machineId = newId();
    const att = { id: newId(), machineId, device: 'vdb', created: Date.now() };
    await store.volumes.putMachineVolume({ machineId, id: att.id, volumeId: v.id, device: 'vdb', created: att.created });
    const after = await store.volumes.updateSpec(v.id, 1, { attachment: att, hostId: HOST });
    return { v: after, machineId };
  }
  async function cycle(s: VolumeSync, defined: Record<string, string[]>): Promise<void> {
    const vols = await store.volumes.listOnHost(HOST);
    await s.prepare(vols);
    await s.finish(vols, Object.keys(defined), (id) => defined[id] ?? null, emptyReport());
  }

  it('a file that cannot be made: ERROR in status every cycle, one event, the Job FAILED', async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x'); // workDir/volumes cannot be made under a file
    const s = sync(blocker);
    const { v } = await placedVolume();
    for (let i = 0; i < 3; i++) await cycle(s, {});
    const got = (await store.volumes.get(v.id))!;
    assert.equal(got.status?.state, 'ERROR');
    assert.match(got.status!.error!, /^create failed: /);
    assert.equal(got.status?.observedGeneration, got.generation);
    const job = { id: newId(), tenant: 'acme', targetId: v.id, targetType: 'Volume', action: 'attach', state: 'RUNNING' as const, progress: 0, statusMessage: '', returnCode: 0, targetGeneration: got.generation, expectedState: 'AVAILABLE', created: 0, updated: 0 };
    assert.equal(settleVolume(job, got).state, 'FAILED');
    const events = await store.telemetry.eventsOfResource(v.id, { since: Date.now() - 60_000, until: Date.now() + 1000 });
    assert.equal(events.items.filter((e) => e.outcome === 'Failure').length, 1);
  });

  (qemuImg ? it : it.skip)('qemu-img makes the file; it is converged once the machine\'s definition holds it; delete waits for the definition to drop it', async () => {
    const work = join(dir, 'work');
    const s = sync(work);
    const { v, machineId } = await placedVolume('raw');
    const path = join(work, 'volumes', `${v.id}.raw`);
    await cycle(s, { [machineId]: [] });
    let got = (await store.volumes.get(v.id))!;
    assert.ok(existsSync(path));
    assert.equal(got.status?.state, 'AVAILABLE');
    assert.equal(got.status?.path, path);
    assert.ok(got.status!.observedGeneration < got.generation, 'not converged before the definition holds it');
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' })) as { format: string; 'virtual-size': number };
    assert.deepEqual([info.format, info['virtual-size']], ['raw', 2048 * 1024]);
    await cycle(s, { [machineId]: [`vdb=${path}`] });
    got = (await store.volumes.get(v.id))!;
    assert.equal(got.status?.observedGeneration, got.generation);

    // Detached and deleted in the spec, but the definition still holds it: the file stays.
    got = await store.volumes.updateSpec(v.id, got.generation, { attachment: null });
    got = await store.volumes.updateSpec(v.id, got.generation, { desiredState: 'DELETED' });
    await cycle(s, { [machineId]: [`vdb=${path}`] });
    assert.ok(existsSync(path));
    assert.equal((await store.volumes.get(v.id))?.status?.state, 'DELETING');
    assert.equal((await store.volumes.get(v.id))?.status?.error, null);
    await cycle(s, { [machineId]: [] });
    assert.equal(existsSync(path), false);
    assert.equal(await store.volumes.get(v.id), null);
    assert.deepEqual(await store.volumes.listOnHost(HOST), []);
  });
});
