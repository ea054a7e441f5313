/**
 * Admin-only (guarded where mounted) user management: GET/POST /v1/users/, DELETE /v1/users/<username>/,
 * POST /v1/users/<username>/logout (ends every token and session of the user).
 */
import { currentUser } from '../auth/authenticate';
import type { RouteGroup } from '../http/route-table';
import type { UserService } from './service';

export function userGroup(users: UserService): RouteGroup {
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
          (_req, res) => {
            res.json(users.list());
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
          (req, res) => {
            users.logoutEverywhere(String(req.params.username));
            res.status(204).end();
          },
        ],
      },
    ],
  };
}
