/** Jobs: written by the frontend that accepted the request; they expire after 30 days. */
import { checkId, newId } from '../ids.js';
import type { Row, TableDriver } from '../table-driver.js';
import type { Job, Page } from '../types.js';

function rowToJob(r: Row): Job {
  return {
    id: r.id as string, tenant: r.tenant as string, targetId: r.target_id as string, targetType: r.target_type as string,
    action: r.action as string, state: r.state as Job['state'], progress: (r.progress as number) ?? 0,
    statusMessage: (r.status_message as string) ?? '', returnCode: (r.return_code as number) ?? 0,
    targetGeneration: (r.target_generation as number) ?? 0, expectedState: (r.expected_state as string) ?? '',
    created: r.created as number, updated: r.updated as number,
  };
}

export class JobStore {
  constructor(private readonly d: TableDriver) {}

  async create(j: Omit<Job, 'id' | 'created' | 'updated'>, now = Date.now()): Promise<Job> {
    const job: Job = { ...j, id: newId(now), created: now, updated: now };
    await this.d.putAll([
      { table: 'jobs', row: {
        id: job.id, tenant: job.tenant, target_id: job.targetId, target_type: job.targetType, action: job.action, state: job.state,
        progress: job.progress, status_message: job.statusMessage, return_code: job.returnCode, target_generation: job.targetGeneration,
        expected_state: job.expectedState, created: now, updated: now,
      } },
      { table: 'jobs_by_tenant', row: { tenant: job.tenant, id: job.id, target_id: job.targetId, action: job.action, created: now } },
    ]);
    return job;
  }

  async get(id: string): Promise<Job | null> {
    const r = await this.d.get('jobs', { id: checkId(id, 'job id') });
    return r && r.tenant !== null ? rowToJob(r) : null;
  }

  async update(id: string, change: Partial<Pick<Job, 'state' | 'progress' | 'statusMessage' | 'returnCode'>>, now = Date.now()): Promise<void> {
    const row: Row = { id: checkId(id, 'job id'), updated: now };
    if (change.state !== undefined) row.state = change.state;
    if (change.progress !== undefined) row.progress = change.progress;
    if (change.statusMessage !== undefined) row.status_message = change.statusMessage;
    if (change.returnCode !== undefined) row.return_code = change.returnCode;
    await this.d.put('jobs', row);
  }

  /** A tenant's jobs, newest first. */
  async listByTenant(tenant: string, opts: { limit?: number; pageState?: string | null } = {}): Promise<Page<Job>> {
    const page = await this.d.select('jobs_by_tenant', { tenant }, { limit: opts.limit ?? 100, pageState: opts.pageState });
    const jobs = await Promise.all(page.rows.map((r) => this.get(r.id as string)));
    return { items: jobs.filter((j): j is Job => j !== null), pageState: page.pageState };
  }
}
