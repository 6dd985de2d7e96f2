import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { agentConfig, domainTypeFor } from '../../../hypervisor-agent/config.js';
import { ConfigError } from '../../../errors/registry.js';

describe('agent: config', () => {
  it('fills in defaults', () => {
    const c = agentConfig({ hostId: 'h1' });
    assert.equal(c.libvirtUri, 'test:///default');
    assert.equal(c.intervalMs, 1000);
    assert.equal(c.leaseTtlSeconds, 15);
    assert.equal(c.stopGraceMs, 30_000);
    assert.equal(c.orphanPolicy, 'report');
    assert.equal(c.workDir, join(homedir(), '.skybus', 'agent', 'h1'));
    assert.equal(c.metricsEveryMs, 10_000);
    assert.equal(c.accountingPeriodSeconds, 300);
    assert.equal(c.domainPrefix, 'skybus-');
    assert.deepEqual(c.labels, {});
    assert.equal(c.backoffMaxMs, 300_000);
    assert.equal(agentConfig({ hostId: 'h1', intervalMs: 5000, backoffMaxMs: 5000 }).backoffMaxMs, 5000);
    assert.ok(agentConfig().hostId.length > 0, 'hostname by default');
  });

  it('rejects bad values with a ConfigError naming the field', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ hostId: 'no spaces' }, /hostId/],
      [{ libvirtUri: 'nonsense' }, /libvirtUri/],
      [{ orphanPolicy: 'nuke' }, /orphanPolicy/],
      [{ intervalMs: 0 }, /intervalMs/],
      [{ workDir: 'relative/dir' }, /workDir/],
      [{ leaseTtlSeconds: 1, intervalMs: 5000 }, /leaseTtlSeconds/],
      [{ labels: { zone: 3 } }, /label/],
      [{ domainPrefix: '' }, /domainPrefix/],
      [{ backoffMaxMs: 0 }, /backoffMaxMs/],
      [{ backoffMaxMs: 1500.5 }, /backoffMaxMs/],
      [{ backoffMaxMs: '1m' }, /backoffMaxMs/],
      [{ intervalMs: 2000, backoffMaxMs: 1000 }, /backoffMaxMs must be an integer >= 2000/],
    ];
    for (const [input, re] of bad) {
      assert.throws(() => agentConfig({ hostId: 'h1', ...input } as never), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), JSON.stringify(input));
    }
  });

  it('picks the domain type from the URI', () => {
    assert.equal(domainTypeFor('test:///default'), 'test');
    assert.equal(domainTypeFor('qemu:///system'), 'qemu');
    assert.equal(domainTypeFor('qemu+ssh://h/system'), 'qemu');
  });
});
