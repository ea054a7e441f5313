/**
 * Every route the client calls exists in the API: checked against the route tables the API mounts
 * (api/app.ts), read the way the help routes read them: GET /v1/<concern>/help for the described
 * groups, and the auth and users tables (mounted without help) built from their group functions.
 */
import { CLIENT_ROUTES } from '../../client';
import { authGroup } from '../../api/auth/routes';
import { displayPath, type RouteGroup } from '../../api/http/route-table';
import { userGroup } from '../../api/users/routes';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

/** Only the table is read: its handlers, which would use the other services, never run here. */
type AuthDeps = Parameters<typeof authGroup>[0];

let system: SandboxSystem;
let admin: string;

beforeAll(async () => {
  system = await startSandboxSystem();
  admin = await system.token('admin');
});

afterAll(async () => {
  await system.close();
}, 180000);

const normal = (path: string): string => (path.length > 1 ? path.replace(/\/$/, '') : path);

async function servedRoutes(): Promise<Set<string>> {
  const served = new Set<string>();
  for (const concern of ['container', 'units', 'volumes', 'snapshots', 'operations', 'functions']) {
    const res = await system.http().get(`/v1/${concern}/help`).set(...system.auth(admin)).expect(200);
    for (const route of res.body.routes as Array<{ method: string; path: string }>) served.add(`${route.method} ${normal(route.path)}`);
  }
  // Mounted without help (api/app.ts): the auth table at the root, the users table at /v1/users.
  // The tables only close over these services when a request comes; the casts never run them.
  const plain: Array<{ mount: string; group: RouteGroup }> = [
    { mount: '', group: authGroup({ users: system.api.users, bodies: { credentials: [], authenticated: [] } } as unknown as AuthDeps) },
    { mount: '/v1/users', group: userGroup(system.api.users, {} as unknown as Parameters<typeof userGroup>[1]) },
  ];
  for (const { mount, group } of plain) for (const route of group.routes) served.add(`${route.method.toUpperCase()} ${normal(displayPath(mount, route.path))}`);
  return served;
}

test('each (method, path) the client calls is a route the API serves', async () => {
  const served = await servedRoutes();
  const missing = Object.entries(CLIENT_ROUTES)
    .map(([name, route]) => ({ name, key: `${route.method} ${normal(displayPath('', route.path))}` }))
    .filter(({ key }) => !served.has(key));
  expect(missing).toEqual([]);
  // The check can fail: a made-up route is not served.
  expect(served.has('GET /v1/container/<id>/no-such-thing')).toBe(false);
  expect(served.has('GET /v1/container/<id>/file/<filepath>')).toBe(true);
});
