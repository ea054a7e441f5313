/** /v1/snapshots: containers' filesystems saved as images. Thin routes over SnapshotService. */
import type { Request } from 'express';
import { currentUser } from '../auth/authenticate';
import type { RouteGroup } from '../http/route-table';
import type { SnapshotService } from './service';

export interface SnapshotRouteDeps {
  snapshots: SnapshotService;
}

const id = (req: Request): string => String(req.params.id);

export function snapshotGroup(deps: SnapshotRouteDeps): RouteGroup {
  const { snapshots } = deps;
  return {
    name: 'snapshots',
    base: '/v1/snapshots',
    description: 'Snapshots: containers\' filesystems saved as images (POST /v1/container/<id>/snapshot). Start a container from one with POST /v1/container/ {"snapshot": "<id>"}.',
    idVariable: 'SNAPSHOT',
    routes: [
      {
        method: 'get',
        path: '/',
        summary: 'Your snapshots (admins: all).',
        answer: '200 [{id, owner, name, container, image, size, node, created}]',
        handlers: [
          async (req, res) => {
            res.json(await snapshots.list(currentUser(req)));
          },
        ],
      },
      {
        method: 'get',
        path: '/:id',
        summary: 'One snapshot.',
        answer: '200 {id, owner, name, container, image, size, node, created}',
        handlers: [
          async (req, res) => {
            res.json(await snapshots.get(currentUser(req), id(req)));
          },
        ],
      },
      {
        method: 'delete',
        path: '/:id',
        summary: 'Delete the snapshot and its image; 409 while a container runs from it.',
        answer: '204',
        handlers: [
          async (req, res) => {
            await snapshots.delete(currentUser(req), id(req));
            res.status(204).end();
          },
        ],
      },
    ],
  };
}

