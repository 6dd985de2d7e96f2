/**
 * `skybus placement policy show|set <file>|edit` and `skybus placement explain` (operators, on the
 * bus directly; docs/placement.md). Mounted inside the `placement` command (which, with no
 * subcommand, runs a placer), since yargs keeps one command per first word.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { ValidationError } from '../errors/registry.js';
import { explainPlacement } from '../placement/explain.js';
import { expressionEngine } from '../placement/expression-engine.js';
import { compilePolicy, parsePolicyBody, policyView } from '../placement/policy.js';
import { storedPolicy, storePolicy } from '../placement/policy-source.js';
import { checkId } from '../schema/ids.js';
import { table } from './output.js';
import { storeOptions, withStore } from './store-options.js';

function readJsonFile(path: string): unknown {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new ValidationError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`); }
  try { return JSON.parse(text); } catch (e) { throw new ValidationError(`${path} is not JSON: ${(e as Error).message}`); }
}

const engine = expressionEngine;

export function placementSubcommands<T>(y: Argv<T>): Argv<T> {
  return y
    .command('policy', 'the placement policy every placer uses: show, set from a JSON file, edit in $EDITOR', (p) => p
      .command('show', 'the policy in force (JSON)', (a) => storeOptions(a), async (a) => withStore(a, async (s) => {
        const cur = await storedPolicy(s, engine);
        process.stdout.write(JSON.stringify(policyView(cur.doc, cur.version, cur.updated, cur.updatedBy), null, 2) + '\n');
      }))
      .command('set <file>', 'store the policy in a JSON file (validated first; over the version it names, or the current one)', (a) => storeOptions(a)
        .positional('file', { type: 'string', demandOption: true }), async (a) => withStore(a, async (s) => {
        const body = readJsonFile(a.file as string) as Record<string, unknown>;
        const cur = await storedPolicy(s, engine);
        const expected = typeof body?.version === 'number' ? body.version : cur.version;
        const stored = await storePolicy(s, engine, body, expected, `cli:${process.env.USER ?? 'operator'}`);
        process.stdout.write(`placement policy version ${stored.version} stored (weigher ${stored.doc.weigher}); placers use it from their next cycle\n`);
      }))
      .command('edit', 'edit the policy in $EDITOR (default vi); stored only if it validates', (a) => storeOptions(a), async (a) => withStore(a, async (s) => {
        const cur = await storedPolicy(s, engine);
        const dir = mkdtempSync(join(tmpdir(), 'skybus-policy-'));
        try {
          const file = join(dir, 'policy.json');
          writeFileSync(file, JSON.stringify(policyView(cur.doc, cur.version, cur.updated, cur.updatedBy), null, 2) + '\n');
          const ed = spawnSync(process.env.EDITOR || 'vi', [file], { stdio: 'inherit' });
          if (ed.status !== 0) throw new ValidationError(`the editor exited with ${ed.status ?? ed.signal}: nothing stored`);
          const body = readJsonFile(file) as Record<string, unknown>;
          const stored = await storePolicy(s, engine, body, cur.version, `cli:${process.env.USER ?? 'operator'}`);
          process.stdout.write(`placement policy version ${stored.version} stored\n`);
        } finally { rmSync(dir, { recursive: true, force: true }); }
      }))
      .demandCommand(1, 'name a policy command: show, set <file>, edit'), () => undefined)
    .command('explain <machine>', 'every host with the filter that rejects the machine or its score; --try-policy tries a proposed policy', (a) => storeOptions(a)
      .positional('machine', { type: 'string', demandOption: true, describe: 'machine id' })
      .option('try-policy', { type: 'string', describe: 'a JSON file with a proposed policy (not stored)' })
      .option('json', { type: 'boolean', default: false }), async (a) => withStore(a, async (s) => {
      const m = await s.machines.get(checkId(a.machine as string, 'machine id'));
      if (!m) throw new ValidationError(`no machine ${a.machine as string}`);
      const proposal = a['try-policy'];
      const policy = proposal
        ? compilePolicy(parsePolicyBody(readJsonFile(proposal), engine), -1, engine)
        : await storedPolicy(s, engine).then((p) => compilePolicy(p.doc, p.version, engine));
      const e = await explainPlacement(s, m.spec, m.tenant, policy, { machineId: m.id });
      if (a.json) { process.stdout.write(JSON.stringify(e, null, 2) + '\n'); return; }
      const rows = e.hosts.map((v) => ({ host: v.hostId, group: v.group ?? '-', verdict: v.filter ? `rejected: ${v.why}` : 'fits', score: v.score === null ? '-' : v.score.toFixed(4), home: v.home ? 'yes' : 'no' }));
      process.stdout.write([
        `machine ${m.id} (${m.spec.cpu} vCPU, ${m.spec.memoryKiB} KiB) under ${proposal ? 'the proposed policy' : `policy version ${e.policyVersion}`} (weigher ${e.weigher}); now on ${m.hostId ?? 'no host'}`,
        table(rows, e.placer ? ['host', 'group', 'verdict', 'score', 'home'] : ['host', 'group', 'verdict', 'score']),
        e.chosen ? `would go to: ${e.chosen}` : `fits nowhere: ${e.reason}`,
        ...e.notes.map((n) => `note: ${n}`),
      ].join('\n') + '\n');
    }));
}
