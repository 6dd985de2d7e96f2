/**
 * /api/machines: the tenant's machines.
 *   GET    /machines                 collection ($filter $first $last $orderby $select; $expand=disks,volumes,networkInterfaces or *)
 *   POST   /machines                 MachineCreate -> 202, Location, CIMI-Job-URI, Machine body
 *   GET    /machines/:id             Machine ($expand as above; sub-collections: routes/machine-sub-collections.ts)
 *   PUT    /machines/:id             edit name/description/properties -> 200, CIMI-Job-URI
 *   DELETE /machines/:id             -> 202, CIMI-Job-URI, Job body
 *   POST   /machines/:id             Action body -> 202, CIMI-Job-URI, Job body
 *   POST   /machines/:id/:action     Action body (optional) -> 202, CIMI-Job-URI, Job body
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
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

const STORE_PAGE = 200;

/** A Machine's attributes an edit cannot change: dropped whatever their value, or when unchanged. */
const MACHINE_EDIT = {
  volatile: ['created', 'updated', 'state', 'generation', 'observedGeneration', 'statusMessage', 'error', 'placementReason', 'hostId', 'operations',
    'eventLog', 'disks', 'volumes', 'networkInterfaces'],
  fixed: ['cpu', 'memory', 'cpuArch', 'imageLocation', 'requirements', 'desiredState'],
} as const;

const ACTION_URI_MAX = 512;

/** The last non-empty path segment of an action URI (linear, no regular expression). */
function lastSegment(v: string): string {
  let end = v.length;
  while (end > 0 && v.charCodeAt(end - 1) === 0x2f) end--;
  const start = v.lastIndexOf('/', end - 1) + 1;
  return v.slice(start, end);
}

function parseActionName(v: unknown): MachineAction | 'delete' {
  if (typeof v !== 'string' || v.length === 0) throw new ValidationError('Action.action must be a string (an action URI)', { field: 'action' });
  if (v.length > ACTION_URI_MAX) throw new ValidationError(`Action.action is longer than ${ACTION_URI_MAX} characters`, { field: 'action' });
  checkText(v, 'Action.action');
  const last = lastSegment(v).toLowerCase();
  if (!(MACHINE_ACTIONS as readonly string[]).includes(last)) {
    throw new ValidationError(`Action.action '${v}' is not supported; use one of ${MACHINE_ACTIONS.join(', ')}`, { field: 'action' });
  }
  return last as MachineAction;
}

function readAction(req: Request, required: boolean): MachineAction | 'delete' | null {
  if (!required && (!Buffer.isBuffer(req.body) || req.body.length === 0)) return null;
  const body = readCimiBody(req, 'Action');
  rejectUnknownFields(body, ['action'], 'Action');
  return parseActionName(body.action);
}

export function machineRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  const bounds = { limits: config.machineLimits, fleet: new FleetBounds(store) };

  defineRoute(r, mountedAt, '/machines', {
    get: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const q = parseCollectionQuery(req, config);
      const pages = storePages((pageState) => store.machines.listByTenant(who.tenant, { limit: STORE_PAGE, pageState }));
      const result = await runCollectionQuery(pages, q, (m) => expandMachineView(req, config, machineView(m, base, who), { store, machine: m, base, who }));
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
      sendCimi(req, res, 200, await expandMachineView(req, config, machineView(m, base, who), { store, machine: m, base, who }));
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
      accepted(req, res, jobView(job, baseUrl(req, config)));
    },
    post: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const m = await loadMachine(store, req.params.id as string, who);
      const action = readAction(req, true)!;
      const { job } = await applyAction(store, who, m, action);
      accepted(req, res, jobView(job, base));
    },
  });

  defineRoute(r, mountedAt, '/machines/:id/:action', {
    post: async (req, res) => {
      const who = principalOf(res);
      const base = baseUrl(req, config);
      const pathAction = (req.params.action as string).toLowerCase();
      if (!(MACHINE_ACTIONS as readonly string[]).includes(pathAction)) throw new NotFoundError(`no such operation '${req.params.action as string}'`);
      const m = await loadMachine(store, req.params.id as string, who);
      const bodyAction = readAction(req, false);
      if (bodyAction !== null && bodyAction !== pathAction) {
        throw new ValidationError(`Action.action '${bodyAction}' does not match the operation '${pathAction}'`, { field: 'action' });
      }
      const { job } = await applyAction(store, who, m, pathAction as MachineAction);
      accepted(req, res, jobView(job, base));
    },
  });

  return r;
}
