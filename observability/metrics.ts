/** Prometheus metrics: one registry per process, passed to whoever records. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class SkybusMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'skybus_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry] });
  readonly httpDuration = new Histogram({ name: 'skybus_http_request_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly placements = new Counter({ name: 'skybus_placements_total', help: 'Placement attempts by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly claimConflicts = new Counter({ name: 'skybus_claim_conflicts_total', help: 'Host claims lost to a concurrent writer', registers: [this.registry] });
  readonly agentActions = new Counter({ name: 'skybus_agent_actions_total', help: 'Agent actions by kind and outcome', labelNames: ['action', 'outcome'] as const, registers: [this.registry] });
  readonly agentDomains = new Gauge({ name: 'skybus_agent_domains', help: 'Domains managed per host', labelNames: ['host'] as const, registers: [this.registry] });
  readonly loopSeconds = new Histogram({ name: 'skybus_loop_seconds', help: 'Controller loop iteration duration', labelNames: ['loop'] as const, buckets: [0.005, 0.02, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  // Host monitoring (hypervisor-agent/host-monitor.ts): one interval end to end, and each bus write it makes, by table and outcome.
  readonly agentSampleSeconds = new Histogram({ name: 'skybus_agent_sample_seconds', help: 'Host monitor interval duration (libvirt read, sample and rollup writes)', labelNames: ['host'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly busWriteSeconds = new Histogram({ name: 'skybus_bus_write_seconds', help: 'Bus write latency seen by the host monitor, by table and outcome', labelNames: ['table', 'outcome'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });

  constructor(opts: { defaults?: boolean } = {}) {
    if (opts.defaults) collectDefaultMetrics({ register: this.registry });
  }
}
