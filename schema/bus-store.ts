/** The store every service uses: typed stores over one row driver (embedded SQLite or Cassandra). */
import type { StoreConfig } from '../config/store-config.js';
import { CassandraDriver } from './cassandra-driver.js';
import { migrate, type MigrationReport } from './migrations.js';
import { SqliteDriver } from './sqlite-driver.js';
import { AccountStore } from './store/accounts.js';
import { CatalogStore } from './store/catalog.js';
import { HostStore } from './store/hosts.js';
import { AuditStore } from './store/audit.js';
import { JobStore } from './store/jobs.js';
import { LoginAttemptStore } from './store/login-attempts.js';
import { RateUsageStore } from './store/rate-usage.js';
import { MachineStore } from './store/machines.js';
import { MonitoringStore } from './store/monitoring.js';
import { UsageDailyStore } from './store/usage-daily.js';
import { NetworkStore } from './store/networks.js';
import { PlacementPolicyStore } from './store/placement-policies.js';
import { QuotaStore } from './store/quotas.js';
import { ServiceStore } from './store/services.js';
import { TelemetryStore } from './store/telemetry.js';
import { VolumeStore } from './store/volumes.js';
import type { TableDriver } from './table-driver.js';

export class BusStore {
  readonly machines: MachineStore;
  readonly hosts: HostStore;
  readonly jobs: JobStore;
  readonly telemetry: TelemetryStore;
  readonly monitoring: MonitoringStore;
  readonly usageDaily: UsageDailyStore;
  readonly accounts: AccountStore;
  readonly catalog: CatalogStore;
  readonly services: ServiceStore;
  readonly quotas: QuotaStore;
  readonly loginAttempts: LoginAttemptStore;
  readonly rateUsage: RateUsageStore;
  readonly audit: AuditStore;
  readonly networks: NetworkStore;
  readonly volumes: VolumeStore;
  readonly placementPolicies: PlacementPolicyStore;

  constructor(readonly driver: TableDriver) {
    this.machines = new MachineStore(driver);
    this.hosts = new HostStore(driver);
    this.jobs = new JobStore(driver);
    this.telemetry = new TelemetryStore(driver);
    this.monitoring = new MonitoringStore(driver);
    this.usageDaily = new UsageDailyStore(driver);
    this.accounts = new AccountStore(driver);
    this.catalog = new CatalogStore(driver);
    this.services = new ServiceStore(driver);
    this.loginAttempts = new LoginAttemptStore(driver);
    this.rateUsage = new RateUsageStore(driver);
    this.audit = new AuditStore(driver);
    this.quotas = new QuotaStore(driver);
    this.networks = new NetworkStore(driver);
    this.volumes = new VolumeStore(driver);
    this.placementPolicies = new PlacementPolicyStore(driver);
  }

  get kind(): 'embedded' | 'cassandra' { return this.driver.kind; }

  migrate(): Promise<MigrationReport> { return migrate(this.driver); }

  close(): Promise<void> { return this.driver.close(); }
}

export async function openDriver(cfg: StoreConfig): Promise<TableDriver> {
  if (cfg.kind === 'embedded') return new SqliteDriver(cfg.path);
  return CassandraDriver.connect(cfg);
}

/** Open the bus and bring its schema up to date (safe from any number of processes at once). */
export async function openStore(cfg: StoreConfig): Promise<BusStore> {
  const store = new BusStore(await openDriver(cfg));
  try {
    await store.migrate();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
