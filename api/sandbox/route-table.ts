/**
 * Self-describing concerns. Each concern (containers, units, volumes, snapshots, operations) is
 * a table of route definitions: the same entries register the Express routes and render
 * `GET <base>/help` (routes and fields), `GET <base>/examples` (runnable curl lines) and
 * `GET <base>/health` (that concern's dependencies), so the documentation cannot drift from the
 * server. Routes registered elsewhere (the original /v1/container/ router) are read back from
 * that router itself and matched to their descriptions here.
 */
import type { Request, RequestHandler, Router } from 'express';

export interface FieldDoc {
  name: string;
  type: string;
  required?: boolean;
  description: string;
}

export interface RouteExample {
  body?: unknown;
  /** Query string without `?`. */
  query?: string;
  /** A streaming answer: curl -N. */
  stream?: boolean;
  /** Not a curl route (a WebSocket): shown as this text instead. */
  text?: string;
}

export interface RouteDef {
  method: 'get' | 'post' | 'delete' | 'put' | 'patch';
  /** Express path relative to the concern's base, e.g. `/:id/exec`. */
  path: string;
  summary: string;
  query?: FieldDoc[];
  body?: FieldDoc[];
  /** Status and shape of a successful answer. */
  answer: string;
  example?: RouteExample;
  /** The route's handlers; absent when the route is registered elsewhere (described only). */
  handlers?: RequestHandler[];
  /** Where this route is mounted when not at the concern's base (its help routes, for units). */
  base?: string;
}

export interface HealthReport {
  concern: string;
  status: 'ok' | 'unavailable';
  checks: Record<string, string>;
}

export interface Concern {
  /** The path segment: `/v1/<name>/help`. */
  name: string;
  /** Where its routes are mounted, e.g. `/v1/container`. */
  base: string;
  /** Where help, examples and health are mounted; default: `base`. */
  mount?: string;
  description: string;
  /** Shell variable that stands for `:id` in examples, e.g. `ID`. */
  idVariable: string;
  routes: RouteDef[];
  health: () => Promise<HealthReport>;
  /** A router whose own routes also belong to this concern (they must be described in `routes`). */
  external?: Router;
}

interface RegisteredRoute {
  method: string;
  path: string;
}

interface LayerLike {
  route?: { path: string; methods: Record<string, boolean> };
}

/** The routes an Express router really has (method and path), read from its stack. */
export function routesOf(router: Router): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  for (const layer of (router as unknown as { stack: LayerLike[] }).stack) {
    if (!layer.route) continue;
    for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push({ method, path: layer.route.path });
  }
  return out;
}

/** `/:id/file/*filepath` → `/v1/container/<id>/file/<filepath>`. */
function displayPath(base: string, path: string): string {
  return base + path.replace(/\/\*(\w+)/g, '/<$1>').replace(/:(\w+)/g, '<$1>');
}

function examplePath(concern: Concern, base: string, path: string): string {
  return base + path.replace(/\/\*(\w+)/g, '/$$$1').replace(/:id\b/g, `$${concern.idVariable}`).replace(/:(\w+)/g, (_m, name: string) => `$${name.toUpperCase()}`);
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The routes of a concern as served: its table, plus any external router's routes. */
export function describedRoutes(concern: Concern): Array<RouteDef & { registered: boolean }> {
  // Without an external router, routes without handlers are a static description (units).
  const table = concern.routes.map((route) => ({ ...route, registered: route.handlers !== undefined || !concern.external }));
  if (!concern.external) return table;
  const external = routesOf(concern.external);
  for (const route of table) {
    if (!route.registered) route.registered = external.some((r) => r.method === route.method && r.path === route.path);
  }
  // A route the external router has that nobody described still shows up.
  for (const r of external) {
    if (!table.some((route) => route.method === r.method && route.path === r.path)) {
      table.push({ method: r.method as RouteDef['method'], path: r.path, summary: '(not described yet)', answer: '', registered: true });
    }
  }
  return table;
}

export function renderHelp(concern: Concern): unknown {
  return {
    concern: concern.name,
    description: concern.description,
    auth: 'Authorization: JWT <token> (or Bearer), or the session cookie; someone else\'s object is a 404.',
    routes: describedRoutes(concern)
      .filter((route) => route.registered)
      .map((route) => ({
        method: route.method.toUpperCase(),
        path: displayPath(route.base ?? concern.base, route.path),
        summary: route.summary,
        ...(route.query ? { query: route.query } : {}),
        ...(route.body ? { body: route.body } : {}),
        answer: route.answer,
      })),
  };
}

export function renderExamples(concern: Concern, req: Request): { concern: string; setup: string[]; examples: Array<{ route: string; example: string }> } {
  const base = `${req.protocol}://${req.get('host') ?? '127.0.0.1:8000'}`;
  const setup = [
    `BOATLOAD=${base}`,
    `TOKEN=$(curl -s -X POST "$BOATLOAD/api-token-auth/" -H 'Content-Type: application/json' -d '{"username": "admin", "password": "admin"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')`,
    `${concern.idVariable}=<an id from a listing>`,
  ];
  const examples = describedRoutes(concern)
    .filter((route) => route.registered)
    .map((route) => {
      const route_ = `${route.method.toUpperCase()} ${displayPath(route.base ?? concern.base, route.path)}`;
      const ex = route.example ?? {};
      if (ex.text) return { route: route_, example: ex.text };
      const url = examplePath(concern, route.base ?? concern.base, route.path) + (ex.query ? `?${ex.query}` : '');
      const parts = ['curl', ex.stream ? '-sN' : '-s'];
      if (route.method !== 'get') parts.push('-X', route.method.toUpperCase());
      parts.push(`"$BOATLOAD${url}"`, '-H', '"Authorization: JWT $TOKEN"');
      if (ex.body !== undefined) parts.push('-H', "'Content-Type: application/json'", '-d', shellQuote(JSON.stringify(ex.body)));
      return { route: route_, example: parts.join(' ') };
    });
  return { concern: concern.name, setup, examples };
}

/**
 * Registers `/help`, `/examples` and `/health` (added to the table first, so they are described
 * and matched before any `/:id`) and every route of the table that has handlers.
 */
export function registerConcern(router: Router, concern: Concern): void {
  const meta: RouteDef[] = [
    {
      method: 'get',
      path: '/help',
      summary: 'This description: routes and fields.',
      answer: '200 {concern, description, auth, routes: [{method, path, summary, query?, body?, answer}]}',
      handlers: [
        (_req, res) => {
          res.json(renderHelp(concern));
        },
      ],
    },
    {
      method: 'get',
      path: '/examples',
      summary: 'Runnable curl lines for every route; ?format=sh answers them as a shell script.',
      answer: '200 {concern, setup, examples: [{route, example}]}',
      handlers: [
        (req, res) => {
          const rendered = renderExamples(concern, req);
          if (req.query.format === 'sh') {
            const lines = [...rendered.setup, ...rendered.examples.map((e) => `# ${e.route}\n${e.example}`)];
            res.type('text/plain; charset=utf-8').send(lines.join('\n') + '\n');
            return;
          }
          res.json(rendered);
        },
      ],
    },
    {
      method: 'get',
      path: '/health',
      summary: "This concern's dependencies and whether they answer.",
      answer: '200 {concern, status: "ok", checks}, or 503 with status "unavailable" naming what is down',
      handlers: [
        async (_req, res) => {
          const report = await concern.health();
          res.status(report.status === 'ok' ? 200 : 503).json(report);
        },
      ],
    },
  ];
  for (const route of meta) route.base = concern.mount ?? concern.base;
  concern.routes.unshift(...meta);
  for (const route of concern.routes) {
    if (route.handlers) router[route.method](route.path, ...route.handlers);
  }
}
