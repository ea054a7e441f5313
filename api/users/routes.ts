/**
 * Admin-only (guarded where mounted) user management: GET/POST /v1/users/, DELETE /v1/users/<username>/,
 * POST /v1/users/<username>/logout (ends every token and session of the user), and GET/PUT
 * /v1/users/<username>/quotas.
 */
import type { Request } from 'express';
import { NotFoundError } from '../../common/errors';
import { currentUser } from '../auth/authenticate';
import type { RouteGroup } from '../http/route-table';
import type { QuotaService } from '../quotas/service';
import type { UserService } from './service';

const QUOTA_FIELDS_DOC = [
  { name: 'containers', type: 'number|null', description: 'Containers the user may hold (0: unlimited; null: the default).' },
  { name: 'volumes', type: 'number|null', description: 'Volumes the user may hold.' },
  { name: 'snapshots', type: 'number|null', description: 'Snapshots the user may hold (a fork takes one).' },
  { name: 'container_disk_bytes', type: 'number|null', description: "Bytes each container's writable layer may hold; the disk watchdog stops one over it." },
  { name: 'volume_bytes', type: 'number|null', description: 'Bytes each volume may hold; the disk watchdog stops the containers writing to one over it.' },
];

export function userGroup(users: UserService, quotas: QuotaService): RouteGroup {
  const existing = async (req: Request): Promise<string> => {
    const username = String(req.params.username);
    if (!(await users.find(username))) throw new NotFoundError();
    return username;
  };
  return {
    name: 'users',
    base: '/v1/users',
    description: 'Users (admins only; others get 403). Deleting a user deletes their containers and ends their tokens and sessions.',
    idVariable: 'USERNAME',
    routes: [
      {
        method: 'get',
        path: '/',
        summary: 'Every user.',
        answer: '200 [{username, is_admin, created}]',
        handlers: [
          async (_req, res) => {
            res.json(await users.list());
          },
        ],
      },
      {
        method: 'post',
        path: '/',
        summary: 'Create a user.',
        body: [
          { name: 'username', type: 'string', required: true, description: 'The new user name.' },
          { name: 'password', type: 'string', required: true, description: 'At least 8 characters.' },
          { name: 'is_admin', type: 'boolean', description: 'An administrator (default false).' },
        ],
        answer: '201 {username, is_admin, created}',
        handlers: [
          async (req, res) => {
            res.status(201).json(await users.create((req.body ?? {}) as { username: unknown; password: unknown; is_admin?: unknown }));
          },
        ],
      },
      {
        method: 'get',
        path: '/:username/quotas',
        summary: "The user's quotas in force, the overrides set for them, the installation's defaults and what they hold now.",
        answer: '200 {username, quotas: {containers, volumes, snapshots, container_disk_bytes, volume_bytes}, overrides: {...}, defaults: {...}, usage: {containers, volumes, snapshots}}',
        handlers: [
          async (req, res) => {
            res.json(await quotas.view(await existing(req)));
          },
        ],
      },
      {
        method: 'put',
        path: '/:username/quotas',
        summary: "Replace the user's quota overrides: each a whole number (0: unlimited) or null (the default); a field left out is the default. Counts already over a lowered quota are kept; new creates are refused.",
        body: QUOTA_FIELDS_DOC,
        answer: '200 (as GET)',
        example: { body: { containers: 5, container_disk_bytes: 1073741824 } },
        handlers: [
          async (req, res) => {
            res.json(await quotas.set(await existing(req), req.body ?? {}));
          },
        ],
      },
      {
        method: 'delete',
        path: '/:username',
        summary: 'Delete the user, their containers, volumes, snapshots and operations.',
        answer: '204',
        handlers: [
          async (req, res) => {
            await users.delete(String(req.params.username), currentUser(req));
            res.status(204).end();
          },
        ],
      },
      {
        method: 'post',
        path: '/:username/logout',
        summary: 'Log the user out everywhere: every token and session they hold stops working.',
        answer: '204; unknown user: 404',
        handlers: [
          async (req, res) => {
            await users.logoutEverywhere(String(req.params.username));
            res.status(204).end();
          },
        ],
      },
    ],
  };
}
