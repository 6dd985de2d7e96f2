/**
 * /api/placementPolicy (Skybus extension, admins only; docs/placement.md):
 *   GET                      the policy in force (version 0: none stored, the built-in default)
 *   PUT                      store a new version: the whole policy, with `version` = the one read
 *                            (409 when another admin changed it meanwhile; 400 naming the field, or
 *                            the column of an expression error, and nothing stored)
 *   POST .../explain         every host's verdict for a machine ({machine: {href}}) or a hypothetical
 *                            one ({machineTemplate: {...}} as in a MachineCreate), under the policy in
 *                            force or a proposed one ({policy: {...}}, not stored)
 */
import { Router } from 'express';
import { ValidationError } from '../../errors/registry.js';
import { explainPlacement } from '../../placement/explain.js';
import { expressionEngine } from '../../placement/expression-engine.js';
import { compilePolicy, parsePolicyBody, policyView } from '../../placement/policy.js';
import { storedPolicy, storePolicy } from '../../placement/policy-source.js';
import type { MachineSpec } from '../../schema/types.js';
import { principalOf, requireAdmin } from '../auth/authenticator.js';
import { hrefId, optObject, rejectUnknownFields, type Body } from '../body-fields.js';
import { sendCimi } from '../cimi/negotiate.js';
import { readCimiBody } from '../cimi/request-body.js';
import { skybusUri } from '../cimi/uris.js';
import { FleetBounds } from '../fleet-bounds.js';
import { resolveMachineCreate } from '../machine-create.js';
import { baseUrl } from '../request-context.js';
import type { RouteDeps } from './deps.js';
import { defineRoute } from './route-table.js';

export function placementPolicyRoutes(deps: RouteDeps, mountedAt: string): Router {
  const { store, config } = deps;
  const r = Router();
  const engine = expressionEngine;
  const view = (base: string, p: Awaited<ReturnType<typeof storedPolicy>>) => ({
    resourceURI: skybusUri('PlacementPolicy'), id: `${base}${mountedAt}/placementPolicy`, ...policyView(p.doc, p.version, p.updated, p.updatedBy),
    operations: [{ rel: 'edit', href: `${base}${mountedAt}/placementPolicy` }, { rel: `${skybusUri('action')}/explain`, href: `${base}${mountedAt}/placementPolicy/explain` }],
  });
  defineRoute(r, mountedAt, '/placementPolicy', {
    get: async (req, res) => {
      requireAdmin(res);
      sendCimi(req, res, 200, view(baseUrl(req, config), await storedPolicy(store, engine)));
    },
    put: async (req, res) => {
      requireAdmin(res);
      const body = readCimiBody(req, 'PlacementPolicy');
      const v = body.version;
      const expected = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;
      if (expected === undefined || !Number.isSafeInteger(expected)) throw new ValidationError('PlacementPolicy.version is required: the version you read (0 when none is stored), so a concurrent change is never overwritten', { field: 'PlacementPolicy.version' });
      await storePolicy(store, engine, body, expected, principalOf(res).name);
      sendCimi(req, res, 200, view(baseUrl(req, config), await storedPolicy(store, engine)));
    },
  });
  defineRoute(r, mountedAt, '/placementPolicy/explain', {
    post: async (req, res) => {
      requireAdmin(res);
      const who = principalOf(res);
      const body = readCimiBody(req, 'PlacementExplain');
      rejectUnknownFields(body, ['machine', 'machineTemplate', 'requirements', 'policy'], 'PlacementExplain');
      const machineRef = optObject(body, 'machine', 'PlacementExplain.machine');
      let spec: MachineSpec;
      let tenant = who.tenant;
      let machineId: string | undefined;
      if (machineRef) {
        const m = await store.machines.get(hrefId(machineRef, 'machines', 'PlacementExplain.machine'));
        if (!m) throw new ValidationError('PlacementExplain.machine: no such Machine', { field: 'PlacementExplain.machine' });
        spec = m.spec;
        tenant = m.tenant;
        machineId = m.id;
      } else if (body.machineTemplate !== undefined) {
        const { machineTemplate, requirements } = body as Body;
        spec = (await resolveMachineCreate(store, who, { machineTemplate, ...(requirements !== undefined ? { requirements } : {}) } as Body, { limits: config.machineLimits, fleet: new FleetBounds(store) })).spec;
      } else {
        throw new ValidationError('PlacementExplain needs machine (an href) or machineTemplate (as in a MachineCreate)', { field: 'PlacementExplain.machine' });
      }
      const proposed = optObject(body, 'policy', 'PlacementExplain.policy');
      const policy = proposed
        ? compilePolicy(parsePolicyBody(proposed, engine), -1, engine)
        : await storedPolicy(store, engine).then((p) => compilePolicy(p.doc, p.version, engine));
      const e = await explainPlacement(store, spec, tenant, policy, machineId ? { machineId } : {});
      sendCimi(req, res, 200, { resourceURI: skybusUri('PlacementExplanation'), ...e, policy: proposed ? 'proposed' : `version ${policy.version}` });
    },
  });
  return r;
}
