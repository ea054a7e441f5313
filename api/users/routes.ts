/** Admin-only (guarded where mounted) user management: GET/POST /v1/users/, DELETE /v1/users/<username>/. */
import { Router } from 'express';
import { currentUser } from '../auth/authenticate';
import type { UserService } from './service';

export function userRoutes(users: UserService): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json(users.list());
  });

  router.post('/', async (req, res) => {
    res.status(201).json(await users.create((req.body ?? {}) as { username: unknown; password: unknown; is_admin?: unknown }));
  });

  router.delete('/:username', async (req, res) => {
    await users.delete(String(req.params.username), currentUser(req));
    res.status(204).end();
  });

  return router;
}
