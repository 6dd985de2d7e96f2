/**
 * /api/machines: the tenant's machines.
 *   GET    /machines                 collection ($filter $first $last $orderby $select; $expand=disks,volumes,networkInterfaces or *)
 *   POST   /machines                 MachineCreate -> 202, Location, CIMI-Job-URI, Machine body
 *   GET    /machines/:id             Machine ($expand as above; sub-collections: routes/machine-sub-collections.ts)
 *   PUT    /machines/:id             edit name/description/properties -> 200, CIMI-Job-URI
 *   DELETE /machines/:id             -> 202, CIMI-Job-URI, Job body
 *   POST   /machines/:id             Action body -> 202, CIMI-Job-URI, Job body
 *   POST   /machines/:id/:action     Action body (optional) -> 202, CIMI-Job-URI, Job body
 *   POST   /machines/:id/capture     Action capture (name, description, properties optional) ->
 *                                    202, Location (the new MachineImage), CIMI-Job-URI, Job body;
 *                                    the advertised capture href is POST /machineImages (catalog.ts)
 */
import { Router, type Request, type Response } from 'express';
import { NotFoundError, ValidationError } from '../../errors/registry.js';
import { principalOf } from '../auth/authenticator.js';
import { checkText, optStringMap, rejectUnknownFields, optString } from '../body-fields.js';
import { collectionBody, nextWindowQuery, parseCollectionQuery, runCollectionQuery, storePages } from '../cimi/collection-query.js';
import { sendCimi } from '../cimi/negotiate.js';
import { dropServerManaged, idNames } from '../cimi/edit-body.js';
import { readCimiBody } from '../cimi/request-body.js';
import { collectionUrl, memberUrl } from '../cimi/uris.js';
import { jobView } from '../job-view.js';
import { FleetBounds } from '../fleet-bounds.js';
import { resolveMachineCreate } from '../machine-create.js';
import { applyAction, createMachine, editMachine, loadMachine } from '../machine-mutations.js';
import { expandMachineView } from '../machine-sub-collections.js';
import { MACHINE_ACTIONS, machineView, type MachineAction } from '../machine-view.js';
import { captureMachine } from '../machine-capture.js';
import { applyHostCondition } from '../machine-host-effect.js';
import { HostLatestReads } from '../host-latest-reads.js';
import { machineLatestSample } from '../latest-sample-view.js';
import { commonFields } from '../catalog-bodies.js';
import type { Body } from '../body-fields.js';
import type { Principal } from '../auth/authenticator.js';
import type { Machine } from '../../schema/types.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const STORE_PAGE = 200;

/** A Machine's attributes an edit cannot change: dropped whatever their value, or when unchanged. */
const MACHINE_EDIT = {
  volatile: ['created', 'updated', 'state', 'generation', 'observedGeneration', 'statusMessage', 'error', 'placementReason', 'hostId', 'hostHealth', 'latestSample', 'metrics', 'operations',
    'eventLog', 'disks', 'volumes', 'networkInterfaces'],
  fixed: ['cpu', 'memory', 'cpuArch', 'imageLocation', 'requirements', 'desiredState', 'highlyAvailable', 'affinity'],
} as const;

const ACTION_URI_MAX = 512;

/** The last non-empty path segment of an action URI (linear, no regular expression). */
function lastSegment(v: string): string {
  let end = v.length;
  while (end > 0 && v.charCodeAt(end - 1) === 0x2f) end--;
  const start = v.lastIndexOf('/', end - 1) + 1;
  return v.slice(start, end);
}

type NamedAction = MachineAction | 'capture';
const ACTION_NAMES: readonly string[] = [...MACHINE_ACTIONS, 'capture'];

function parseActionName(v: unknown): NamedAction {
  if (typeof v !== 'string' || v.length === 0) throw new ValidationError('Action.action must be a string (an action URI)', { field: 'action' });
  if (v.length > ACTION_URI_MAX) throw new ValidationError(`Action.action is longer than ${ACTION_URI_MAX} characters`, { field: 'action' });
  checkText(v, 'Action.action');
  const last = lastSegment(v).toLowerCase();
  if (!ACTION_NAMES.includes(last)) {
    throw new ValidationError(`Action.action '${v}' is not supported; use one of ${ACTION_NAMES.join(', ')}`, { field: 'action' });
  }
  return last as NamedAction;
}

/** The Action body (null: none given and none required); name, description, properties are for capture. */
function readAction(req: Request, required: boolean): { action: NamedAction; body: Body } | null {
  if (!required && (!Buffer.isBuffer(req.body) || req.body.length === 0)) return null;
  const body = readCimiBody(req, 'Action');
  rejectUnknownFields(body, ['action'], 'Action');
  return { action: parseActionName(body.action), body };
}

/** The Action form of capture: 202 with the Job, Location naming the new image. */
async function captureByAction(deps: RouteDeps, req: Request, res: Response, who: Principal, m: Machine, body: Body): Promise<void> {
  const base = baseUrl(req, deps.config);
  const { image, job } = await captureMachine(deps.store, who, m, commonFields(body, 'Action'));
  res.setHeader('Location', memberUrl(base, 'machineImages', image.id));
  res.setHeader('CIMI-Job-URI', memberUrl(base, 'jobs', job.id));
  sendCimi(req, res, 202, jobView(job, base));
}

export function machineRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config, hostConditions } = deps;
  const r = Router();
  // The machine as its host's health shows it (machine-host-effect.ts), with its entry of the host's
  // latest sample (one host_latest read per distinct host and request: host-latest-reads.ts), then its view.
  const view = async (m: Machine, base: string, who: Principal, latest: HostLatestReads) => {
    const [condition, sample] = m.hostId ? await Promise.all([hostConditions.of(m.hostId), latest.of(m.hostId)]) : [null, null];
    const now = Date.now();
    const e = applyHostCondition(m, condition, now);
    const latestSample = machineLatestSample(sample, m.id, e.hostHealth, now);
    return { machine: e.machine, body: machineView(e.machine, base, who, { ...e, latestSample }) };
  };
  const bounds = { limits: config.machineLimits, fleet: new FleetBounds(store) };

  defineRoute(r, mountedAt, '/machines', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const pages = storePages((pageState) => store.machines.listByTenant(who.tenant, { limit: STORE_PAGE, pageState }));
      const latest = new HostLatestReads(store);
      const result = await runCollectionQuery(pages, q, async (m) => {
        const v = await view(m, base, who, latest);
        return expandMachineView(req, config, v.body, { store, machine: v.machine, base, who });
      });
      const id = collectionUrl(base, 'machines');
      sendCimi(req, res, 200, collectionBody({ type: 'MachineCollection', id, member: 'machines', result, q, addHref: id, next: nextWindowQuery(req, q, result.count) }));
    },
    post: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const body = readCimiBody(req, 'MachineCreate');
      const resolved = await resolveMachineCreate(store, who, body, bounds);
      const { machine, job } = await createMachine(store, who, resolved);
      res.setHeader('Location', memberUrl(base, 'machines', machine.id));
      res.setHeader('CIMI-Job-URI', memberUrl(base, 'jobs', job.id));
      sendCimi(req, res, 202, machineView(machine, base, who));
    },
  });

  const accepted = (req: Request, res: Response, jobBody: Record<string, unknown>): void => {
    res.setHeader('CIMI-Job-URI', jobBody.id as string);
    sendCimi(req, res, 202, jobBody);
  };

  defineRoute(r, mountedAt, '/machines/:id', {
    get: async (req, res) => {
      const who = principalOf(res);
      const m = await loadMachine(store, req.params.id as string, who);
      const base = baseUrl(req, config);
      const v = await view(m, base, who, new HostLatestReads(store));
      sendCimi(req, res, 200, await expandMachineView(req, config, v.body, { store, machine: v.machine, base, who }));
    },
    put: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const m = await loadMachine(store, req.params.id as string, who);
      // A client may PUT back the whole Machine it read: what the server manages is dropped (cimi/edit-body.ts).
      const body = dropServerManaged(readCimiBody(req, 'Machine'), machineView(m, base, who), 'Machine', MACHINE_EDIT);
      rejectUnknownFields(body, ['id'], 'Machine');
      if (body.id !== undefined && !idNames(body.id, memberUrl(base, 'machines', m.id), m.id)) throw new ValidationError('Machine.id does not match the URL', { field: 'id' });
      const change = {
        name: optString(body, 'name', 255, 'Machine.name'),
        description: optString(body, 'description', 4096, 'Machine.description', 'multiline'),
        properties: optStringMap(body, 'properties', 'Machine.properties'),
      };
      const { machine, job } = await editMachine(store, who, m, change);
      res.setHeader('CIMI-Job-URI', memberUrl(base, 'jobs', job.id));
      sendCimi(req, res, 200, machineView(machine, base, who));
    },
    delete: async (req, res) => {
      const who = principalOf(res);
      const m = await loadMachine(store, req.params.id as string, who);
      const { job } = await applyAction(store, who, m, 'delete');
      // Its host was removed for good: no agent will ever finish the delete, so it is finished here
      // (the claim went with host remove; release is exactly once anyway: keyed by machine).
      if (m.hostId && (await hostConditions.of(m.hostId))?.health === 'removed') {
        await store.hosts.release(m.hostId, m.id);
        await store.machines.purge(m);
      }
      accepted(req, res, jobView(job, baseUrl(req, config)));
    },
    post: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const m = await loadMachine(store, req.params.id as string, who);
      const { action, body } = readAction(req, true)!;
      if (action === 'capture') return captureByAction(deps, req, res, who, m, body);
      const { job } = await applyAction(store, who, m, action);
      accepted(req, res, jobView(job, base));
    },
  });

  defineRoute(r, mountedAt, '/machines/:id/:action', {
    post: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const pathAction = (req.params.action as string).toLowerCase();
      if (!ACTION_NAMES.includes(pathAction)) throw new NotFoundError(`no such operation '${req.params.action as string}'`);
      const m = await loadMachine(store, req.params.id as string, who);
      const given = readAction(req, false);
      if (given !== null && given.action !== pathAction) {
        throw new ValidationError(`Action.action '${given.action}' does not match the operation '${pathAction}'`, { field: 'action' });
      }
      if (pathAction === 'capture') return captureByAction(deps, req, res, who, m, given?.body ?? {});
      const { job } = await applyAction(store, who, m, pathAction as MachineAction);
      accepted(req, res, jobView(job, base));
    },
  });

  return r;
}
