import assert from 'node:assert/strict';
import { ConfigError } from '../../../errors/registry.js';
import { frontendConfig, frontendConfigFromEnv } from '../../../frontend/config.js';
import { displayState } from '../../../frontend/machine-view.js';
import { settle } from '../../../frontend/job-settlement.js';
import type { Job, Machine } from '../../../schema/types.js';
import { spec } from './harness.js';

describe('frontend config', () => {
  it('has the documented defaults and validates every setting', () => {
    const c = frontendConfig();
    assert.equal(c.bodyLimitBytes, 256 * 1024);
    assert.equal(c.defaultPageSize, 100);
    assert.equal(c.maxPageSize, 1000);
    assert.equal(c.publicBaseUrl, null);
    assert.equal(frontendConfig({ publicBaseUrl: 'https://cloud.example.org/' }).publicBaseUrl, 'https://cloud.example.org');
    for (const bad of [{ listenPort: 70000 }, { publicBaseUrl: 'ftp://x' }, { publicBaseUrl: 'nope' }, { defaultPageSize: 2000 }, { bodyLimitBytes: 0 }, { maxPageSize: 1.5 }]) {
      assert.throws(() => frontendConfig(bad), ConfigError, JSON.stringify(bad));
    }
    assert.equal(frontendConfigFromEnv({ SKYBUS_FRONTEND_PORT: '9000', SKYBUS_FRONTEND_PAGE_SIZE: '50' }).listenPort, 9000);
    assert.throws(() => frontendConfigFromEnv({ SKYBUS_FRONTEND_PORT: 'eighty' }), ConfigError);
  });
});

describe('frontend machine state and job settlement rules', () => {
  const machine = (over: Partial<Machine>): Machine => ({
    id: 'm', tenant: 't', name: '', description: '', properties: {}, spec: spec(), desiredState: 'STARTED', restartSeq: 0, generation: 3,
    created: 0, updated: 0, hostId: 'h', placement: null,
    status: { state: 'STARTED', observedGeneration: 3, observedRestartSeq: 0, converged: true, error: null, hostId: 'h', updatedAt: 0 }, ...over,
  });
  const job = (over: Partial<Job>): Job => ({
    id: 'j', tenant: 't', targetId: 'm', targetType: 'Machine', action: 'stop', state: 'RUNNING', progress: 50, statusMessage: '', returnCode: 0,
    targetGeneration: 3, expectedState: 'STOPPED', created: 0, updated: 0, ...over,
  });

  it('computes the CIMI state in the documented order', () => {
    assert.equal(displayState(machine({ desiredState: 'DELETED', hostId: null })), 'DELETING');
    assert.equal(displayState(machine({ hostId: null })), 'CREATING');
    assert.equal(displayState(machine({ status: { ...machine({}).status, error: 'x' } })), 'ERROR');
    assert.equal(displayState(machine({ generation: 4, desiredState: 'PAUSED', status: { ...machine({}).status, error: 'old' } })), 'PAUSING');
    assert.equal(displayState(machine({ desiredState: 'SUSPENDED', status: { ...machine({}).status, converged: false } })), 'SUSPENDING');
    assert.equal(displayState(machine({ status: { ...machine({}).status, state: 'STOPPED' } })), 'STOPPED');
  });

  it('settles per generation, convergence and error', () => {
    assert.equal(settle(job({}), machine({})).state, 'SUCCESS');
    assert.equal(settle(job({ targetGeneration: 4 }), machine({})).state, 'RUNNING');
    assert.equal(settle(job({}), machine({ hostId: null, status: { ...machine({}).status, observedGeneration: 0, converged: false } })).state, 'QUEUED');
    assert.equal(settle(job({}), machine({ status: { ...machine({}).status, converged: false } })).state, 'RUNNING');
    assert.equal(settle(job({}), machine({ status: { ...machine({}).status, error: 'e' } })).state, 'FAILED');
    assert.equal(settle(job({ expectedState: 'DELETED' }), machine({})).state, 'RUNNING');
    assert.equal(settle(job({ expectedState: 'DELETED' }), null).state, 'SUCCESS');
    assert.equal(settle(job({ state: 'FAILED' }), machine({})).state, 'FAILED');
  });
});
