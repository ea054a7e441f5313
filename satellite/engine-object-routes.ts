/**
 * The satellite's routes for engine objects (signed like every satellite route; see satellite/app.ts):
 *
 *   POST   /containers/:name/commit     CommitRequest → CommitResult
 *   DELETE /images/:reference           removes a snapshot image (409 while in use)
 *   POST   /volumes                     VolumeCreateRequest → VolumeInfo
 *   GET    /volumes/:name               VolumeInfo
 *   DELETE /volumes/:name               (409 while in use)
 *   GET    /usage/containers?label=k=v  ContainerDiskUsage[] (writable-layer sizes)
 *   POST   /usage/volumes               VolumeUsageRequest → VolumeDiskUsage[]
 */
import type { Express } from 'express';
import { BadRequestError } from '../common/errors';
import { CONTAINER_NAME, type CommitRequest, type VolumeCreateRequest, type VolumeUsageRequest } from '../common/satellite-protocol';
import type { DiskUsage } from './disk-usage';
import type { EngineObjects } from './engine-objects';
import { objectBody, param } from './route-input';

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._/-]{0,200}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;

export function registerEngineObjectRoutes(app: Express, deps: { objects: EngineObjects; usage: DiskUsage }): void {
  const { objects, usage } = deps;

  app.get('/usage/containers', async (req, res) => {
    const labels = ([] as unknown[]).concat(req.query.label ?? []).map(String);
    if (!labels.length) throw new BadRequestError('At least one label filter is required.');
    res.json(await usage.containers(labels));
  });

  app.post('/usage/volumes', async (req, res) => {
    const body = objectBody<VolumeUsageRequest>(req);
    if (!Array.isArray(body.volumes) || body.volumes.length > 1000 || !body.volumes.every((v) => typeof v === 'string' && VOLUME_NAME.test(v))) {
      throw new BadRequestError('volumes must be a list of at most 1000 volume names.');
    }
    if (typeof body.image !== 'string' || !IMAGE_REFERENCE.test(body.image)) throw new BadRequestError('An image reference is required.');
    res.json(await usage.volumes({ volumes: body.volumes, image: body.image }));
  });

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
