/** skybus all | frontend | placement | agent */
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Argv } from 'yargs';
import { frontendConfigFromEnv } from '../frontend/config.js';
import { agentConfig } from '../hypervisor-agent/config.js';
import { writeTestHost } from '../hypervisor-agent/test-host.js';
import { createLogger } from '../observability/logger.js';
import { serveMetrics } from '../observability/metrics-server.js';
import { placementConfig, type PlacementPolicy } from '../placement/config.js';
import { placementSubcommands } from './placement-commands.js';
import { SkybusMetrics } from '../observability/metrics.js';
import { defaultDataDir } from '../config/store-config.js';
import { hostLivenessFromEnv } from '../schema/host-health.js';
import { ensureAdmin, openBus, seedCatalog, startAgent, startFrontend, startPlacement, type Running } from './roles.js';
import { storeConfigOf, storeOptions } from './store-options.js';

function metricsOptions<T>(y: Argv<T>) {
  return y
    .option('metrics-port', { type: 'number', describe: 'serve Prometheus /metrics on this port (0: any free port)' })
    .option('metrics-host', { type: 'string', default: '127.0.0.1' });
}

function untilSignal(parts: Running[], close: () => Promise<void>, log: ReturnType<typeof createLogger>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig }, 'stopping');
      for (const p of [...parts].reverse()) await p.stop().catch((e) => log.warn({ err: e }, 'stop failed'));
      await close();
      resolve();
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });
}

export function roleCommands<T>(y: Argv<T>): Argv<T> {
  return y
    .command('all', 'run every role in one process: frontend, placement and agent(s) on the libvirt test hypervisor',
      (a) => storeOptions(a)
        .option('port', { type: 'number', default: 8080, describe: 'frontend port (0: any free port)' })
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'frontend listen address' })
        .option('agents', { type: 'number', default: 1, describe: 'simulated hosts (test hypervisor), one agent each' })
        .option('policy', { type: 'string', choices: ['packing', 'striping'], default: 'packing' }),
      async (a) => {
        if (!Number.isInteger(a.agents) || a.agents < 1 || a.agents > 1000) throw Object.assign(new Error('--agents must be 1..1000'), { usage: true });
        const log = createLogger();
        const metrics = new SkybusMetrics({ defaults: true });
        const storeCfg = storeConfigOf(a);
        const store = await openBus(storeCfg, log);
        const dataDir = storeCfg.kind === 'embedded' ? dirname(storeCfg.path) : defaultDataDir();
        const login = await ensureAdmin(store, dataDir);
        await seedCatalog(store);
        const parts: Running[] = [];
        const fe = await startFrontend(store, frontendConfigFromEnv(process.env, { listenPort: a.port, listenHost: a.host }), log, metrics);
        parts.push(fe);
        parts.push(startPlacement(store, placementConfig({ policy: a.policy as PlacementPolicy, liveness: hostLivenessFromEnv() }), log, metrics));
        for (let i = 0; i < a.agents; i++) {
          const hostId = a.agents === 1 ? `${hostname()}-test` : `${hostname()}-test-${i + 1}`;
          // A private simulated host (x86_64, 16 CPUs, 64 GiB) per agent; test:///default is an i686 box.
          const uri = writeTestHost(`${dataDir}/test-hosts/${hostId}.xml`, { cpus: 16, memoryKiB: 64 * 1024 * 1024 });
          parts.push(await startAgent(store, agentConfig({ hostId, libvirtUri: uri, workDir: `${dataDir}/agent/${hostId}`, imageDir: `${dataDir}/images` }), log, metrics));
        }
        process.stdout.write([
          '',
          `Skybus is running (all roles, ${storeCfg.kind} store, ${a.agents} test-hypervisor host${a.agents > 1 ? 's' : ''}).`,
          `  CIMI API:  ${fe.url}/api/cloudEntryPoint`,
          `  dashboard: ${fe.url}/ui/  (same login)`,
          `  login:     ${login.user} / ${login.password ?? '(password set earlier; reset with: skybus user passwd admin)'}`,
          `  try:       curl -u ${login.user}:${login.password ?? 'PASSWORD'} ${fe.url}/api/machines`,
          `             SKYBUS_URL=${fe.url} SKYBUS_USER=${login.user} SKYBUS_PASSWORD=... node dist/cli/skybus.js machine create --config small --image tiny-linux --wait`,
          `  metrics:   ${fe.url}/metrics`,
          'Stop with Ctrl-C.',
          '',
        ].join('\n'));
        await untilSignal(parts, () => store.close(), log);
      })
    .command('frontend', 'run a stateless CIMI frontend', (a) => storeOptions(a)
      .option('port', { type: 'number', default: 8080 })
      .option('host', { type: 'string', default: '127.0.0.1' }),
    async (a) => {
      const log = createLogger();
      const metrics = new SkybusMetrics({ defaults: true });
      const store = await openBus(storeConfigOf(a), log);
      const fe = await startFrontend(store, frontendConfigFromEnv(process.env, { listenPort: a.port, listenHost: a.host }), log, metrics);
      process.stdout.write(`Skybus frontend at ${fe.url}/api/cloudEntryPoint\n`);
      await untilSignal([fe], () => store.close(), log);
    })
    .command('placement', 'run a placement instance (any number may run at once); policy, explain: tune and question it', (a) => placementSubcommands(metricsOptions(storeOptions(a)))
      .option('policy', { type: 'string', choices: ['packing', 'striping'], default: 'packing' })
      .option('cpu-ratio', { type: 'number', default: 4, describe: 'vCPUs placed per host CPU' })
      .option('ram-ratio', { type: 'number', default: 1, describe: 'memory placed per byte of host memory' })
      .option('interval-ms', { type: 'number', default: 500, describe: 'pause between idle cycles' })
      .option('load-refresh-ms', { type: 'number', describe: 'how often the hosts\' latest monitoring samples are read for the load-aware weigher (default 10000)' })
      .option('unplaced-deadline-ms', { type: 'number', describe: 'how long a machine may wait for a host before it shows ERROR (default 600000; placement keeps trying)' }),
    async (a) => {
      const cfg = placementConfig({ policy: a.policy as PlacementPolicy, cpuAllocationRatio: a['cpu-ratio'], ramAllocationRatio: a['ram-ratio'], intervalMs: a['interval-ms'], unplacedDeadlineMs: a['unplaced-deadline-ms'], loadRefreshMs: a['load-refresh-ms'], liveness: hostLivenessFromEnv() });
      const log = createLogger();
      const metrics = new SkybusMetrics({ defaults: true });
      const store = await openBus(storeConfigOf(a), log);
      const parts: Running[] = [startPlacement(store, cfg, log, metrics)];
      if (a['metrics-port'] !== undefined) {
        const m = await serveMetrics(metrics, a['metrics-host'], a['metrics-port']);
        parts.push(m);
        process.stdout.write(`Prometheus metrics at ${m.url}\n`);
      }
      await untilSignal(parts, () => store.close(), log);
    })
    .command('agent', 'run the hypervisor agent of one host', (a) => metricsOptions(storeOptions(a))
      .option('host-id', { type: 'string', describe: 'this host\'s id (default: hostname)' })
      .option('libvirt-uri', { type: 'string', default: 'qemu:///system' })
      .option('label', { type: 'array', string: true, default: [] as string[], describe: 'host label key=value (repeatable)' })
      .option('work-dir', { type: 'string', describe: 'overlay disks, save files, console logs (default ~/.skybus/agent/<host>)' })
      .option('image-dir', { type: 'string', describe: 'where captured images are written (default ~/.skybus/images); every host that may run machines from them must reach the same path' })
      .option('orphan-policy', { type: 'string', choices: ['report', 'destroy'], default: 'report', describe: 'what to do with Skybus domains that have no machine' })
      .option('interval-ms', { type: 'number', default: 1000 })
      .option('stop-grace-ms', { type: 'number', default: 30000, describe: 'graceful shutdown time before a forced stop' })
      .option('monitor-interval-ms', { type: 'number', default: 10000, describe: 'host monitoring: one sample of the host and all its machines on the bus every this many ms (0: off; docs/data-model.md, "Host monitoring")' })
      .option('libvirt-call-timeout-ms', { type: 'number', describe: 'how long to wait for one libvirt call before reporting it as not returned (default 60000)' })
      .option('fence-after-ms', { type: 'number', describe: 'self-fencing: no heartbeat on the bus for this long and guests in --fence-scope are fenced (default 30000 or twice the lease TTL; docs/lifecycle.md)' })
      .option('fence-action', { type: 'string', choices: ['destroy', 'pause'], default: 'destroy', describe: 'what fencing does to a guest' })
      .option('fence-scope', { type: 'string', choices: ['ha', 'all'], default: 'ha', describe: 'which guests fencing touches: the highly available ones (the only ones restarted elsewhere), or all' })
      .option('deadline-ms', { type: 'array', string: true, default: [] as string[], describe: 'STATE=ms: how long STARTING, STOPPING, PAUSING, SUSPENDING or DELETING may take before the machine shows ERROR (repeatable; docs/lifecycle.md)' }),
    async (a) => {
      const labels: Record<string, string> = {};
      for (const l of a.label) {
        const [k, ...v] = l.split('=');
        if (!k || v.length === 0) throw Object.assign(new Error(`--label must be key=value, got '${l}'`), { usage: true });
        labels[k] = v.join('=');
      }
      const deadlinesMs: Record<string, number> = {};
      for (const d of a['deadline-ms']) {
        const [k, v] = d.split('=');
        const ms = Number(v);
        if (!k || v === undefined || v === '' || !Number.isFinite(ms)) throw Object.assign(new Error(`--deadline-ms must be STATE=milliseconds, got '${d}'`), { usage: true });
        deadlinesMs[k.toUpperCase()] = ms;
      }
      const cfg = agentConfig({
        hostId: a['host-id'], libvirtUri: a['libvirt-uri'], labels, workDir: a['work-dir'], imageDir: a['image-dir'], orphanPolicy: a['orphan-policy'] as 'report' | 'destroy',
        intervalMs: a['interval-ms'], stopGraceMs: a['stop-grace-ms'], monitorIntervalMs: a['monitor-interval-ms'], libvirtCallTimeoutMs: a['libvirt-call-timeout-ms'], deadlinesMs,
        fenceAfterMs: a['fence-after-ms'], fenceAction: a['fence-action'] as 'destroy' | 'pause', fenceScope: a['fence-scope'] as 'ha' | 'all',
      });
      const log = createLogger();
      const metrics = new SkybusMetrics({ defaults: true });
      const store = await openBus(storeConfigOf(a), log);
      const parts: Running[] = [await startAgent(store, cfg, log, metrics)];
      if (a['metrics-port'] !== undefined) {
        const m = await serveMetrics(metrics, a['metrics-host'], a['metrics-port']);
        parts.push(m);
        process.stdout.write(`Prometheus metrics at ${m.url}\n`);
      }
      await untilSignal(parts, () => store.close(), log);
    });
}
