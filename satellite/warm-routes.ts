/** The warm pool's satellite routes: create a member, take one for a run, and the host's free memory. */
import type express from 'express';
import { BadRequestError, ServiceUnavailableError } from '../common/errors';
import { CONTAINER_NAME, type WarmCreateRequest, type WarmTakeRequest } from '../common/satellite-protocol';
import { objectBody, param } from './route-input';
import { WarmMembers } from './warm-members';

/** `members` is null when scripts are copied into containers (SATELLITE_SCRIPT_DIR=off): no pool then. */
export function registerWarmRoutes(app: express.Express, members: WarmMembers | null): void {
  const available = (): WarmMembers => {
    if (!members) throw new ServiceUnavailableError('This satellite has no script directory (SATELLITE_SCRIPT_DIR=off): it keeps no warm pool.');
    return members;
  };

  app.post('/warm', async (req, res) => {
    const request = objectBody<WarmCreateRequest>(req);
    if (!request.spec || typeof request.spec.name !== 'string' || !CONTAINER_NAME.test(request.spec.name)) throw new BadRequestError('A container spec is required.');
    res.status(201).json(await available().create(request.spec));
  });

  app.post('/warm/:name/take', async (req, res) => {
    res.json(await available().take(param(req, 'name', CONTAINER_NAME), objectBody<WarmTakeRequest>(req)));
  });

  app.get('/host/memory', async (_req, res) => {
    res.json(await WarmMembers.hostMemory());
  });
}
