/** The CIMI representation of a Job. */
import type { Job } from '../schema/types.js';
import { actionUri, memberUrl, resourceUri } from './cimi/uris.js';
import { stopRefusal } from './job-settlement.js';

/** A settled job's view: `stop` is offered exactly when it would be accepted (stopRefusal). */
export function jobView(j: Job, base: string): Record<string, unknown> {
  const id = memberUrl(base, 'jobs', j.id);
  const targetColl = j.targetType === 'MachineImage' ? 'machineImages' : j.targetType === 'Volume' ? 'volumes' : 'machines';
  const target = { href: memberUrl(base, targetColl, j.targetId) };
  return {
    resourceURI: resourceUri('Job'),
    id,
    name: `${j.action} ${j.targetType.toLowerCase()}`,
    description: '',
    created: new Date(j.created).toISOString(),
    updated: new Date(j.updated).toISOString(),
    properties: {},
    state: j.state,
    targetResource: target,
    affectedResources: [target],
    action: actionUri(j.action),
    returnCode: j.returnCode,
    progress: j.progress,
    statusMessage: j.statusMessage,
    timeOfStatusChange: new Date(j.updated).toISOString(),
    targetGeneration: j.targetGeneration,
    expectedState: j.expectedState,
    operations: stopRefusal(j) === null ? [{ rel: actionUri('stop'), href: `${id}/stop` }] : [],
  };
}
