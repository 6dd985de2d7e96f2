import assert from 'node:assert/strict';
import { SkybusMetrics } from '../../../observability/metrics.js';
import { serveMetrics } from '../../../observability/metrics-server.js';
import { ConfigError } from '../../../errors/registry.js';

describe('metrics endpoint for placement and agent roles', () => {
  it('serves the registry on GET /metrics and nothing else; a port in use is a clear error', async () => {
    const metrics = new SkybusMetrics();
    metrics.placements.inc({ outcome: 'placed' }, 3);
    const srv = await serveMetrics(metrics, '127.0.0.1', 0);
    try {
      const res = await fetch(srv.url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      assert.match(await res.text(), /skybus_placements_total\{outcome="placed"\} 3/);
      assert.equal((await fetch(srv.url.replace('/metrics', '/'))).status, 404);
      assert.equal((await fetch(srv.url, { method: 'POST' })).status, 404);
      const port = Number(new URL(srv.url).port);
      await assert.rejects(serveMetrics(metrics, '127.0.0.1', port), (e: unknown) => e instanceof ConfigError && /already in use/.test(e.message));
    } finally {
      await srv.stop();
    }
  });
});
