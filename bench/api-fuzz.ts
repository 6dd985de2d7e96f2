/**
 * The API fuzzer of issue 10 at a larger count than the unit suite runs (test/helpers/api-fuzzer.ts):
 * random methods, paths, headers, query strings and bodies as two tenants, an admin and strangers,
 * against a frontend on the embedded store; after each request the whole bus is compared.
 *   node dist/bench/api-fuzz.js [--cases 20000] [--seeds 1,2,3]
 * Prints one table row per seed: cases, 2xx/4xx/5xx, rejected requests that changed state, non-CIMI errors.
 */
import { fuzzFixture, runApiFuzz } from '../test/helpers/api-fuzzer.js';
import { ed25519PublicKey } from '../test/helpers/ssh-keys.js';
import { harness } from '../test/unit/frontend/harness.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}
const CASES = Number(arg('cases', '20000'));
const SEEDS = arg('seeds', '1,2,3').split(',').map(Number);

console.log('| seed | cases | 2xx | 4xx | 5xx | rejected that changed state | 4xx not a CIMI error | responsive after | s |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---|---:|');
let bad = 0;
for (const seed of SEEDS) {
  const t0 = Date.now();
  const h = await harness();
  try {
    const r = await runApiFuzz(h, await fuzzFixture(h, ed25519PublicKey('fuzz@bench')), { seed, numRuns: CASES });
    const sum = (lo: number, hi: number) => Object.entries(r.statuses).filter(([s]) => Number(s) >= lo && Number(s) < hi).reduce((a, [, n]) => a + n, 0);
    console.log(`| ${seed} | ${r.cases} | ${sum(200, 300)} | ${sum(400, 500)} | ${sum(500, 600)} | ${r.rejectedThatChangedState.length} | ${r.notCimiErrors.length} | ${r.responsiveAfter ? 'yes' : 'NO'} | ${((Date.now() - t0) / 1000).toFixed(0)} |`);
    for (const line of [...r.serverErrors, ...r.rejectedThatChangedState, ...r.notCimiErrors].slice(0, 10)) console.error(`  ${line}`);
    bad += r.serverErrors.length + r.rejectedThatChangedState.length + r.notCimiErrors.length + (r.responsiveAfter ? 0 : 1);
  } catch (e) {
    console.error(`seed ${seed}: ${(e as Error).message.slice(0, 2000)}`);
    bad++;
  } finally {
    await h.cleanup();
  }
}
process.exit(bad > 0 ? 1 : 0);
