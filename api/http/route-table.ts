/**
 * The one way the API writes a route: a table of route definitions per resource. The same entries
 * register the Express routes and describe them: `GET <base>/help` (routes and fields),
 * `GET <base>/examples` (runnable curl lines) and `GET <base>/health` are rendered from the table
 * that registered the routes, so the description cannot drift from the server; the tables are
 * also what a machine-readable API description can be generated from.
 */
import type { Request, RequestHandler, Router } from 'express';
import type { AnyZodObject, ZodTypeAny } from 'zod';
import { stampRoutePattern } from '../../common/metrics/http-metrics';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

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
  /** Not a plain curl line (a WebSocket, a binary answer): shown as this text instead. */
  text?: string;
}

/** Who may call a route: anyone, a logged-in user, or an administrator. */
export type RouteAccess = 'public' | 'user' | 'admin';

/** An answer described beyond `answer`: its status, and the schema of its body when it has one. */
export interface ResponseDoc {
  status: number;
  description: string;
  schema?: ZodTypeAny;
  /** Default application/json. */
  contentType?: string;
}

export interface RouteDef {
  method: HttpMethod;
  /** Express path relative to the group's base, e.g. `/:id/exec`. */
  path: string;
  summary: string;
  query?: FieldDoc[];
  body?: FieldDoc[];
  /** Status and shape of a successful answer. */
  answer: string;
  example?: RouteExample;
  /**
   * The zod schema the handler validates the body with: the same object, so that it describes the
   * body in the API description (GET /v1/openapi.json) and cannot drift. Without it, `body` does.
   */
  bodySchema?: ZodTypeAny;
  /** Media types the body may also come as, besides application/json (e.g. multipart/form-data). */
  bodyTypes?: string[];
  /** Fields that are files in a multipart body (described as binary there). */
  bodyFiles?: string[];
  /** The zod schema the handler validates the query with; without it, `query` describes it. */
  querySchema?: AnyZodObject;
  /** Answers with a schema, or besides the statuses `answer` names. */
  responses?: ResponseDoc[];
  /** Who may call it, when it is not what the mount it is served under requires. */
  access?: RouteAccess;
  /** Middleware and the handler, in order. */
  handlers: RequestHandler[];
}

/** The routes of one resource, and where they are mounted. */
export interface RouteGroup {
  /** The path segment of its help: `/v1/<name>/help`. */
  name: string;
  /** Where the routes are mounted, e.g. `/v1/container`. */
  base: string;
  description: string;
  /** Shell variable that stands for `:id` in examples, e.g. `ID`. */
  idVariable: string;
  routes: RouteDef[];
}

export interface HealthReport {
  concern: string;
  status: 'ok' | 'unavailable';
  checks: Record<string, string>;
}

export interface RegisterOptions {
  /**
   * Answers a known path asked with another method (fleet answers 405); registered after the
   * path's routes. Without it, such a request falls through to the next router.
   */
  otherMethods?: (allowed: string[]) => RequestHandler;
}

/** Registers every route of the table on the router, in table order. */
export function registerRoutes(router: Router, routes: readonly RouteDef[], options: RegisterOptions = {}): void {
  // The stamp names the matched pattern for the HTTP metrics and the access log.
  for (const route of routes) router[route.method](route.path, stampRoutePattern(route.path), ...route.handlers);
  if (!options.otherMethods) return;
  const methodsByPath = new Map<string, string[]>();
  for (const route of routes) methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method.toUpperCase()]);
  for (const [path, methods] of methodsByPath) router.all(path, options.otherMethods(methods));
}

/** `/:id/file/*filepath` → `/v1/container/<id>/file/<filepath>`. */
export function displayPath(base: string, path: string): string {
  return base + path.replace(/\/\*(\w+)/g, '/<$1>').replace(/:(\w+)/g, '<$1>');
}

function examplePath(idVariable: string, base: string, path: string): string {
  return base + path.replace(/\/\*(\w+)/g, '/$$$1').replace(/:id\b/g, `$${idVariable}`).replace(/:(\w+)/g, (_m, name: string) => `$${name.toUpperCase()}`);
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A described route with the base it is served under. */
interface PlacedRoute extends RouteDef {
  base: string;
}

/** The help document of a group: every route it serves, its own help routes first. */
function renderHelp(group: RouteGroup, routes: readonly PlacedRoute[]): unknown {
  return {
    concern: group.name,
    description: group.description,
    auth: "Authorization: JWT <token> (or Bearer), or the session cookie; someone else's object is a 404.",
    routes: routes.map((route) => ({
      method: route.method.toUpperCase(),
      path: displayPath(route.base, route.path),
      summary: route.summary,
      ...(route.query ? { query: route.query } : {}),
      ...(route.body ? { body: route.body } : {}),
      answer: route.answer,
    })),
  };
}

function renderExamples(group: RouteGroup, routes: readonly PlacedRoute[], req: Request): { concern: string; setup: string[]; examples: Array<{ route: string; example: string }> } {
  const origin = `${req.protocol}://${req.get('host') ?? '127.0.0.1:8000'}`;
  const setup = [
    `BOATLOAD=${origin}`,
    `TOKEN=$(curl -s -X POST "$BOATLOAD/api-token-auth/" -H 'Content-Type: application/json' -d '{"username": "admin", "password": "admin"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')`,
    `${group.idVariable}=<an id from a listing>`,
  ];
  const examples = routes.map((route) => {
    const title = `${route.method.toUpperCase()} ${displayPath(route.base, route.path)}`;
    const ex = route.example ?? {};
    if (ex.text) return { route: title, example: ex.text };
    const url = examplePath(group.idVariable, route.base, route.path) + (ex.query ? `?${ex.query}` : '');
    const parts = ['curl', ex.stream ? '-sN' : '-s'];
    if (route.method !== 'get') parts.push('-X', route.method.toUpperCase());
    parts.push(`"$BOATLOAD${url}"`, '-H', '"Authorization: JWT $TOKEN"');
    if (ex.body !== undefined) parts.push('-H', "'Content-Type: application/json'", '-d', shellQuote(JSON.stringify(ex.body)));
    return { route: title, example: parts.join(' ') };
  });
  return { concern: group.name, setup, examples };
}

/**
 * The `/help`, `/examples` and `/health` routes of a group, served under `mount` (its own base
 * unless the group is served elsewhere: the fleet API at /fleet/v1 is described at /v1/units).
 * They describe themselves and every route of the group's table.
 */
export function helpRoutes(group: RouteGroup, options: { mount: string; health: () => Promise<HealthReport> }): RouteDef[] {
  const placed = (): PlacedRoute[] => [...meta.map((route) => ({ ...route, base: options.mount })), ...group.routes.map((route) => ({ ...route, base: group.base }))];
  const meta: RouteDef[] = [
    {
      method: 'get',
      path: '/help',
      summary: 'This description: routes and fields.',
      answer: '200 {concern, description, auth, routes: [{method, path, summary, query?, body?, answer}]}',
      handlers: [
        (_req, res) => {
          res.json(renderHelp(group, placed()));
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
          const rendered = renderExamples(group, placed(), req);
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
      summary: "This resource's dependencies and whether they answer.",
      answer: '200 {concern, status: "ok", checks}, or 503 with status "unavailable" naming what is down',
      handlers: [
        async (_req, res) => {
          const report = await options.health();
          res.status(report.status === 'ok' ? 200 : 503).json(report);
        },
      ],
    },
  ];
  return meta;
}

/** A group's routes with its help, examples and health in front of them (`/:id` would take `/help` otherwise). */
export function describedRoutes(group: RouteGroup, health: () => Promise<HealthReport>): RouteDef[] {
  return [...helpRoutes(group, { mount: group.base, health }), ...group.routes];
}

/**
 * Routes as the app serves them: where they are mounted, who may call them and the shape their
 * errors take. The app mounts these, and the API description (GET /v1/openapi.json) is generated
 * from the same list, so a route cannot be served without being described.
 */
export interface MountedRoutes {
  /** The tag they are grouped under in the description. */
  name: string;
  description: string;
  /** Where they are served, e.g. `/v1/container` ('' for the root). */
  base: string;
  /** In registration order: a group's help routes first. */
  routes: readonly RouteDef[];
  /** What the mount requires; a route's own `access` overrides it. */
  access: RouteAccess;
  /** DRF's {"detail"} / {"field": [...]} bodies, or fleet's {"error": {code, message}}. */
  errors: 'drf' | 'fleet';
}
