/** /v1/volumes: named volumes, storage that outlives containers. Thin routes over VolumeService. */
import type { Request } from 'express';
import { currentUser } from '../auth/authenticate';
import type { RouteGroup } from '../http/route-table';
import { parseVolumeRequest, volumeRequestSchema } from './requests';
import type { VolumeService } from './service';

export interface VolumeRouteDeps {
  volumes: VolumeService;
}

const id = (req: Request): string => String(req.params.id);

export function volumeGroup(deps: VolumeRouteDeps): RouteGroup {
  const { volumes } = deps;
  return {
    name: 'volumes',
    base: '/v1/volumes',
    description: 'Named volumes: storage that outlives containers. Mount them at create with volumes: [{name, path, readonly}].',
    idVariable: 'VOLUME',
    routes: [
      {
        method: 'post',
        path: '/',
        summary: 'Create a volume (names are unique per owner).',
        body: [{ name: 'name', type: 'string', required: true, description: '1-64 letters, digits, dots, dashes or underscores.' }],
        answer: '201 {id, name, owner, engine_name, node, created, used_by}; 409 if you have one of that name',
        example: { body: { name: 'work' } },
        bodySchema: volumeRequestSchema,
        handlers: [
          async (req, res) => {
            res.status(201).json(await volumes.create(currentUser(req), parseVolumeRequest(req.body)));
          },
        ],
      },
      {
        method: 'get',
        path: '/',
        summary: 'Your volumes (admins: all).',
        answer: '200 [{id, name, owner, engine_name, node, created, used_by}]',
        handlers: [
          async (req, res) => {
            res.json(await volumes.list(currentUser(req)));
          },
        ],
      },
      {
        method: 'get',
        path: '/:id',
        summary: 'One volume.',
        answer: '200 {id, name, owner, engine_name, node, created, used_by}',
        handlers: [
          async (req, res) => {
            res.json(await volumes.get(currentUser(req), id(req)));
          },
        ],
      },
      {
        method: 'delete',
        path: '/:id',
        summary: 'Delete the volume and its files; 409 while a container uses it.',
        answer: '204',
        handlers: [
          async (req, res) => {
            await volumes.delete(currentUser(req), id(req));
            res.status(204).end();
          },
        ],
      },
    ],
  };
}

