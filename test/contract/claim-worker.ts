/** A separate process that claims one CPU at a time on a host until it is full; reports its wins. */
import { openStore } from '../../schema/bus-store.js';
import { newId } from '../../schema/ids.js';
import type { StoreConfig } from '../../config/store-config.js';

const [cfgJson, hostId, maxTries] = process.argv.slice(2);
const store = await openStore(JSON.parse(cfgJson) as StoreConfig);
let wins = 0;
let idle = 0;
while (idle < Number(maxTries)) {
  const h = await store.hosts.get(hostId, { serial: true });
  if (!h) break;
  if (h.usedCpus + 1 > h.cpus) break;
  const r = await store.hosts.claim(h, newId(), { cpus: 1, memoryKiB: 1 });
  if (r.ok) { wins++; idle = 0; } else idle++;
}
process.send!(wins, () => { void store.close().then(() => process.exit(0)); });
