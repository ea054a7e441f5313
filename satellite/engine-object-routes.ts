/**
 * The satellite's routes for engine objects (signed like every satellite route; see satellite/app.ts):
 *
 *   POST   /containers/:name/commit     CommitRequest → CommitResult
 *   DELETE /images/:reference           removes a snapshot image (409 while in use)
 *   POST   /volumes                     VolumeCreateRequest → VolumeInfo
 *   GET    /volumes/:name               VolumeInfo
 *   DELETE /volumes/:name               (409 while in use)
 */
import type { Express } from 'express';
import { BadRequestError } from '../common/errors';
import { CONTAINER_NAME, type CommitRequest, type VolumeCreateRequest } from '../common/satellite-protocol';
import type { EngineObjects } from './engine-objects';
import { objectBody, param } from './route-input';

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._/-]{0,200}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;

export function registerEngineObjectRoutes(app: Express, deps: { objects: EngineObjects }): void {
  const { objects } = deps;

  app.post('/containers/:name/commit', async (req, res) => {
    const body = objectBody<CommitRequest>(req);
    if (typeof body.repo !== 'string' || typeof body.tag !== 'string' || !body.labels || typeof body.labels !== 'object') {
      throw new BadRequestError('repo, tag and labels are required.');
    }
    res.status(201).json(await objects.commit(param(req, 'name', CONTAINER_NAME), body));
  });

  app.delete('/images/:reference', async (req, res) => {
    await objects.removeImage(param(req, 'reference', IMAGE_REFERENCE));
    res.status(204).end();
  });

  app.post('/volumes', async (req, res) => {
    const body = objectBody<VolumeCreateRequest>(req);
    if (typeof body.name !== 'string' || !VOLUME_NAME.test(body.name) || !body.labels || typeof body.labels !== 'object') {
      throw new BadRequestError('A volume name and labels are required.');
    }
    res.status(201).json(await objects.createVolume(body));
  });

  app.get('/volumes/:name', async (req, res) => {
    res.json(await objects.inspectVolume(param(req, 'name', VOLUME_NAME)));
  });

  app.delete('/volumes/:name', async (req, res) => {
    await objects.removeVolume(param(req, 'name', VOLUME_NAME));
    res.status(204).end();
  });
}
