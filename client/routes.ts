/**
 * Every (method, path template) the client calls, in the API's own notation (`:id`, `*filepath`,
 * as in the route tables). A test checks each against the routes the API registers, so the client
 * cannot call a route that does not exist.
 */
export type ClientMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ClientRoute {
  method: ClientMethod;
  path: string;
}

export const CLIENT_ROUTES = {
  tokenAuth: { method: 'POST', path: '/api-token-auth' },
  tokenVerify: { method: 'POST', path: '/api-token-verify' },
  tokenRefresh: { method: 'POST', path: '/api-token-refresh' },
  me: { method: 'GET', path: '/v1/auth/me' },
  changePassword: { method: 'POST', path: '/v1/auth/password' },

  listContainers: { method: 'GET', path: '/v1/container/' },
  createContainer: { method: 'POST', path: '/v1/container/' },
  batchCreate: { method: 'POST', path: '/v1/container/batch' },
  getContainer: { method: 'GET', path: '/v1/container/:id' },
  deleteContainer: { method: 'DELETE', path: '/v1/container/:id' },
  containerStdout: { method: 'GET', path: '/v1/container/:id/stdout' },
  containerScript: { method: 'GET', path: '/v1/container/:id/script' },
  containerState: { method: 'GET', path: '/v1/container/:id/state' },
  containerMetrics: { method: 'GET', path: '/v1/container/:id/metrics' },
  containerChanges: { method: 'GET', path: '/v1/container/:id/changes' },
  containerFiles: { method: 'GET', path: '/v1/container/:id/file' },
  containerFile: { method: 'GET', path: '/v1/container/:id/file/*filepath' },
  containerFileByNumber: { method: 'GET', path: '/v1/container/:id/filebynum/:num' },
  containerArchive: { method: 'GET', path: '/v1/container/:id/archive' },
  containerReady: { method: 'GET', path: '/v1/container/:id/ready' },
  containerExec: { method: 'POST', path: '/v1/container/:id/exec' },
  containerStream: { method: 'GET', path: '/v1/container/:id/stream' },
  containerTerminal: { method: 'GET', path: '/v1/container/:id/terminal' },
  containerStart: { method: 'POST', path: '/v1/container/:id/start' },
  containerStop: { method: 'POST', path: '/v1/container/:id/stop' },
  containerRestart: { method: 'POST', path: '/v1/container/:id/restart' },
  containerSnapshot: { method: 'POST', path: '/v1/container/:id/snapshot' },
  containerFork: { method: 'POST', path: '/v1/container/:id/fork' },

  listOperations: { method: 'GET', path: '/v1/operations/' },
  getOperation: { method: 'GET', path: '/v1/operations/:id' },

  listSnapshots: { method: 'GET', path: '/v1/snapshots/' },
  getSnapshot: { method: 'GET', path: '/v1/snapshots/:id' },
  deleteSnapshot: { method: 'DELETE', path: '/v1/snapshots/:id' },

  listVolumes: { method: 'GET', path: '/v1/volumes/' },
  createVolume: { method: 'POST', path: '/v1/volumes/' },
  getVolume: { method: 'GET', path: '/v1/volumes/:id' },
  deleteVolume: { method: 'DELETE', path: '/v1/volumes/:id' },

  listFunctions: { method: 'GET', path: '/v1/functions/' },
  createFunction: { method: 'POST', path: '/v1/functions/' },
  getFunction: { method: 'GET', path: '/v1/functions/:name' },
  deleteFunction: { method: 'DELETE', path: '/v1/functions/:name' },
  invokeFunction: { method: 'POST', path: '/v1/functions/:name/invoke' },

  listUsers: { method: 'GET', path: '/v1/users/' },
  createUser: { method: 'POST', path: '/v1/users/' },
  deleteUser: { method: 'DELETE', path: '/v1/users/:username' },

  listUnits: { method: 'GET', path: '/fleet/v1/units' },
  getUnit: { method: 'GET', path: '/fleet/v1/units/:name' },
  putUnit: { method: 'PUT', path: '/fleet/v1/units/:name' },
  deleteUnit: { method: 'DELETE', path: '/fleet/v1/units/:name' },
  unitStates: { method: 'GET', path: '/fleet/v1/state' },
  listMachines: { method: 'GET', path: '/fleet/v1/machines' },
} as const satisfies Record<string, ClientRoute>;

export type RouteName = keyof typeof CLIENT_ROUTES;

/** `/v1/container/:id/file/*filepath` with {id, filepath} → a concrete, encoded path. */
export function fillPath(template: string, params: Record<string, string | number> = {}): string {
  return template
    .replace(/\*(\w+)/g, (_m, name: string) => {
      const value = params[name];
      if (value === undefined) throw new Error(`missing path parameter ${name}`);
      return String(value).split('/').filter(Boolean).map(encodeURIComponent).join('/');
    })
    .replace(/:(\w+)/g, (_m, name: string) => {
      const value = params[name];
      if (value === undefined) throw new Error(`missing path parameter ${name}`);
      return encodeURIComponent(String(value));
    });
}
