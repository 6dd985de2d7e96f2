/**
 * The three-node ring the fault tests run on (scripts/cassandra/ctl.sh --cluster): its addresses
 * (SKYBUS_CASSANDRA_CLUSTER_ADDRS, default 127.0.0.1-3), its node directories
 * (SKYBUS_CASSANDRA_HOME), and killing and restarting nodes as a crash and an operator would.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import cassandra from 'cassandra-driver';
import { until } from './until.js';

const run = promisify(execFile);
const RUN_HOME = process.env.SKYBUS_CASSANDRA_HOME ?? join(homedir(), '.cache', 'skybus', 'cassandra-run');
const CTL = join(process.cwd(), 'scripts', 'cassandra', 'ctl.sh');

export function ringAddresses(): string[] {
  return (process.env.SKYBUS_CASSANDRA_CLUSTER_ADDRS ?? '127.0.0.1,127.0.0.2,127.0.0.3').split(',');
}

export function nodePid(node: 'node1' | 'node2' | 'node3'): number {
  return Number(readFileSync(join(RUN_HOME, node, 'cassandra.pid'), 'utf8').trim());
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** SIGKILL, as a crash; returns once the process is gone. */
export async function killNode(node: 'node1' | 'node2' | 'node3'): Promise<void> {
  const pid = nodePid(node);
  process.kill(pid, 'SIGKILL');
  await until(`${node} to be gone`, 30_000, async () => !alive(pid), 100);
}

/**
 * Starts whatever nodes of the ring are not running, waits until every node sees the others UP and
 * all three report the same schema version (a node that was down during a schema change must have
 * caught up before a test creates its keyspace).
 */
export async function startRing(timeoutS = 240): Promise<void> {
  await run('bash', [CTL, 'start', '--cluster'], { timeout: timeoutS * 1000 });
  await run('bash', [CTL, 'wait', '--cluster', '--timeout', String(timeoutS)], { timeout: (timeoutS + 10) * 1000 });
  await waitForSchemaAgreement();
}

/** Until every node's own schema_version (system.local, asked of that node) is the same. */
export async function waitForSchemaAgreement(timeoutMs = 120_000): Promise<void> {
  const versions = async () => Promise.all(ringAddresses().map(async (addr) => {
    const c = new cassandra.Client({
      contactPoints: [addr], localDataCenter: 'datacenter1',
      policies: { loadBalancing: new cassandra.policies.loadBalancing.AllowListPolicy(new cassandra.policies.loadBalancing.RoundRobinPolicy(), [`${addr}:9042`]) },
    });
    try {
      await c.connect();
      return String((await c.execute('SELECT schema_version FROM system.local')).rows[0]?.get('schema_version'));
    } catch {
      return `unreachable:${addr}`;
    } finally {
      await c.shutdown().catch(() => undefined);
    }
  }));
  await until('the ring to agree on the schema', timeoutMs, async () => new Set(await versions()).size === 1, 1000);
}

/** SIGTERM, as an operator's stop (the node announces its shutdown); SIGKILL after 60 s. */
export async function stopNode(node: 'node1' | 'node2' | 'node3'): Promise<void> {
  const pid = nodePid(node);
  process.kill(pid, 'SIGTERM');
  try {
    await until(`${node} to stop`, 60_000, async () => !alive(pid), 200);
  } catch {
    process.kill(pid, 'SIGKILL');
    await until(`${node} to be gone`, 30_000, async () => !alive(pid), 100);
  }
}

/**
 * Cuts `node` off from the other two nodes (Cassandra's internode port 7000, both directions) while
 * clients still reach it on 9042: policy-routing rules that prohibit those packets. Local addresses
 * are routed by the `local` table, whose rule (preference 0) comes first, so it is moved to
 * preference 100 for the duration and the prohibit rules go in front. `heal()` undoes exactly this.
 */
export async function partitionNode(node: 'node1' | 'node2' | 'node3'): Promise<void> {
  const addrs = ringAddresses();
  const me = addrs[['node1', 'node2', 'node3'].indexOf(node)];
  const ip = (...args: string[]) => run('ip', args);
  await ip('rule', 'add', 'pref', '100', 'lookup', 'local');
  await ip('rule', 'del', 'pref', '0');
  let pref = 10;
  for (const peer of addrs.filter((a) => a !== me)) {
    await ip('rule', 'add', 'pref', String(pref++), 'from', me, 'to', peer, 'ipproto', 'tcp', 'dport', '7000', 'prohibit');
    await ip('rule', 'add', 'pref', String(pref++), 'from', peer, 'to', me, 'ipproto', 'tcp', 'dport', '7000', 'prohibit');
  }
}

/** Removes the partition rules and puts the local table's rule back at preference 0 (idempotent). */
export async function heal(): Promise<void> {
  const ip = (...args: string[]) => run('ip', args).catch(() => undefined);
  for (let pref = 10; pref < 20; pref++) await ip('rule', 'del', 'pref', String(pref));
  const rules = (await run('ip', ['rule', 'list'])).stdout;
  if (!/^0:\s+from all lookup local/m.test(rules)) await ip('rule', 'add', 'pref', '0', 'lookup', 'local');
  if (/^100:\s+from all lookup local/m.test(rules)) await ip('rule', 'del', 'pref', '100');
}
