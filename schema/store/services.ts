/** The service registry: each frontend, placer and agent re-announces itself; rows expire by TTL. */
import { collectPages, fromJson, toJson } from '../json-column.js';
import type { TableDriver } from '../table-driver.js';
import type { ServiceInstance } from '../types.js';

export class ServiceStore {
  constructor(private readonly d: TableDriver) {}

  async announce(s: ServiceInstance, ttlSeconds: number): Promise<void> {
    await this.d.put('services', {
      role: s.role, instance_id: s.instanceId, address: s.address, started: s.started, last_seen: s.lastSeen, info: toJson(s.info),
    }, { ttlSeconds });
  }

  async withdraw(role: string, instanceId: string): Promise<void> {
    await this.d.remove('services', { role, instance_id: instanceId });
  }

  async list(role: string): Promise<ServiceInstance[]> {
    const rows = await collectPages((pageState) => this.d.select('services', { role }, { limit: 1000, pageState }));
    return rows.filter((r) => r.address !== null).map((r) => ({
      role, instanceId: r.instance_id as string, address: r.address as string, started: r.started as number,
      lastSeen: r.last_seen as number, info: fromJson<Record<string, unknown>>(r.info, 'service info', {}),
    }));
  }
}
