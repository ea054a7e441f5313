/**
 * The API described by itself: an OpenAPI 3.1 document generated from the route tables the app
 * mounts (method, path, summary, answer, who may call) and the zod schemas the handlers validate
 * with (`bodySchema`, `querySchema`: the same objects). A route without a schema yet is described
 * from its FieldDoc lists. Nothing here is written by hand per route, so it cannot drift.
 */
import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig, type ZodContentObject } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { FieldDoc, MountedRoutes, ResponseDoc, RouteAccess, RouteDef } from '../http/route-table';

// The generator turns a query schema into parameters through zod's `.openapi()`, which this adds to
// zod's types (once; it changes no validation).
extendZodWithOpenApi(z);

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;
type Parameter = NonNullable<RouteConfig['parameters']>[number];
type Schema = Record<string, unknown>;
type ResponseOrRef = RouteConfig['responses'][string];

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request: {"detail": "..."}, or {"field": ["message", ...]} naming each bad field.',
  401: 'Not authenticated: no or bad credentials.',
  403: 'Permission denied (an admin-only route, or a session write without its CSRF token).',
  404: "Not found: the object does not exist or is someone else's.",
  405: 'Method not allowed on this path (the Allow header lists the methods).',
  409: 'Conflict with the current state.',
  413: 'Request body too large.',
  415: 'Unsupported media type.',
  426: 'Upgrade required: connect with a WebSocket.',
  429: 'Too many attempts: wait for Retry-After.',
  503: 'A dependency (store, satellite, engine) cannot serve the request now.',
};

export type DocumentInfo = {
  title: string;
  version: string;
  description: string;
};

/** `/:id/file/*filepath` under `/v1/container` → `/v1/container/{id}/file/{filepath}`. */
export function openApiPath(base: string, path: string): string {
  return (base + path).replace(/\*(\w+)/g, '{$1}').replace(/:(\w+)/g, '{$1}');
}

/** The names of an Express path's parameters, and whether each takes the rest of the path. */
export function pathParameters(path: string): Array<{ name: string; rest: boolean }> {
  return [...path.matchAll(/([:*])(\w+)/g)].map((m) => ({ name: m[2], rest: m[1] === '*' }));
}

function accessOf(mount: MountedRoutes, route: RouteDef): RouteAccess {
  return route.access ?? mount.access;
}

/** A FieldDoc's free-text type, as JSON Schema. */
function typeSchema(type: string): Schema {
  if (/^boolean/.test(type)) return { type: 'boolean' };
  if (/^number/.test(type)) return { type: 'number' };
  if (type === 'object') return { type: 'object', additionalProperties: { type: 'string' } };
  if (/repeatable|\[\]$/.test(type)) return { type: 'array', items: /^string/.test(type) ? { type: 'string' } : {} };
  if (type.startsWith('[')) return { type: 'array', items: { type: 'object' } };
  // `stdout|stderr|all`, `"ready"`: the values it takes.
  if (/^"?\w+"?(\|"?\w+"?)*$/.test(type) && (type.includes('|') || type.startsWith('"'))) return { type: 'string', enum: type.split('|').map((v) => v.replace(/"/g, '')) };
  return { type: 'string' };
}

/** A FieldDoc as JSON Schema (the description keeps the exact wording of its type). */
function fieldSchema(field: FieldDoc): Schema {
  return { ...typeSchema(field.type), description: `${field.description} (${field.type})` };
}

function fieldsSchema(fields: readonly FieldDoc[]): Schema {
  const required = fields.filter((f) => f.required).map((f) => f.name);
  return { type: 'object', properties: Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f)])), ...(required.length ? { required } : {}) };
}

function parametersOf(route: RouteDef): Parameter[] {
  const inPath = pathParameters(route.path);
  const documented = new Map((route.query ?? []).map((f) => [f.name, f]));
  const params: Parameter[] = inPath.map(({ name, rest }) => ({
    name,
    in: 'path',
    required: true,
    description: documented.get(name)?.description ?? (rest ? 'A path inside the container; it may contain slashes.' : `The ${name}.`),
    schema: { type: 'string' },
  }));
  if (!route.querySchema) {
    for (const field of route.query ?? []) {
      if (inPath.some((p) => p.name === field.name)) continue;
      params.push({ name: field.name, in: 'query', required: field.required ?? false, description: `${field.description} (${field.type})`, schema: typeSchema(field.type) });
    }
  }
  return params;
}

function requestBodyOf(route: RouteDef): NonNullable<RouteConfig['request']>['body'] | undefined {
  const types = ['application/json', ...(route.bodyTypes ?? [])];
  if (route.bodySchema) {
    const schema = route.bodySchema;
    const content: ZodContentObject = Object.fromEntries(types.map((type) => [type, { schema }]));
    // Required when the schema refuses an empty object: the same object decides.
    return { required: !schema.safeParse({}).success, content };
  }
  if (!route.body?.length) return undefined;
  const schema = fieldsSchema(route.body);
  return { required: route.body.some((f) => f.required), content: Object.fromEntries(types.map((type) => [type, { schema }])) };
}

/** The content an answer's text names: `200 text/plain`, `200 application/x-tar`, `200 {...}`. */
function successContent(answer: string): ZodContentObject {
  if (/text\/event-stream/.test(answer)) return { 'text/event-stream': { schema: { type: 'string' } } };
  if (/text\/plain/.test(answer) && /octet-stream/.test(answer)) return { 'text/plain': { schema: { type: 'string' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
  if (/text\/plain/.test(answer)) return { 'text/plain': { schema: { type: 'string' } } };
  if (/x-tar/.test(answer)) return { 'application/x-tar': { schema: { type: 'string', format: 'binary' } }, 'application/gzip': { schema: { type: 'string', format: 'binary' } } };
  if (/octet-stream/.test(answer)) return { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } };
  return { 'application/json': { schema: {} } };
}

function errorRef(errors: MountedRoutes['errors'], status: number): ResponseOrRef {
  return { $ref: `#/components/responses/${errors === 'fleet' ? 'Fleet' : ''}Error${status}` };
}

function responsesOf(mount: MountedRoutes, route: RouteDef): RouteConfig['responses'] {
  const responses: RouteConfig['responses'] = {};
  const statuses = [...route.answer.matchAll(/\b([1-5]\d\d)\b/g)].map((m) => Number(m[1]));
  if (!statuses.length || statuses[0] >= 400) statuses.unshift(200);
  for (const status of statuses) {
    if (responses[status]) continue;
    if (status >= 400) responses[status] = errorRef(mount.errors, status);
    else if (status === 204 || status === 101 || (status === 201 && !/[{[]|record/.test(route.answer))) responses[status] = { description: route.answer };
    else responses[status] = { description: route.answer, content: successContent(route.answer) };
  }
  const access = accessOf(mount, route);
  const standard: number[] = [];
  if (route.bodySchema || route.body?.length || route.querySchema || route.query?.length || mount.errors === 'fleet') standard.push(400);
  if (access !== 'public') standard.push(401);
  if (access === 'admin' || (access === 'user' && route.method !== 'get')) standard.push(403);
  if (pathParameters(route.path).length || mount.errors === 'fleet') standard.push(404);
  if (mount.errors === 'fleet') standard.push(405);
  for (const status of standard) responses[status] ??= errorRef(mount.errors, status);
  for (const doc of route.responses ?? []) responses[doc.status] = explicitResponse(doc);
  return responses;
}

function explicitResponse(doc: ResponseDoc): ResponseConfig {
  if (doc.status === 204) return { description: doc.description };
  return { description: doc.description, content: { [doc.contentType ?? 'application/json']: { schema: doc.schema ?? {} } } };
}

function securityOf(mount: MountedRoutes, route: RouteDef): Array<Record<string, string[]>> {
  if (accessOf(mount, route) === 'public') return [];
  // Session writes need the CSRF token login handed out (header X-CSRFToken), as Django.
  const session: Record<string, string[]> = route.method === 'get' ? { session: [] } : { session: [], csrf: [] };
  return [{ jwt: [] }, { bearer: [] }, session];
}

function operationId(mount: MountedRoutes, route: RouteDef): string {
  const words = `${route.method} ${mount.base} ${route.path}`.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w[0]?.toUpperCase() + w.slice(1))).join('');
}

function registerComponents(registry: OpenAPIRegistry): void {
  registry.registerComponent('schemas', 'Detail', {
    type: 'object',
    description: "Django REST framework's error body.",
    properties: { detail: { type: 'string' } },
    required: ['detail'],
  });
  registry.registerComponent('schemas', 'FieldErrors', {
    type: 'object',
    description: 'A validation failure: each bad field (or non_field_errors) with its messages, as Django REST framework answers it.',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    example: { image_name: ['Enter a valid image name, such as boatload/base.'] },
  });
  registry.registerComponent('schemas', 'Error', { oneOf: [{ $ref: '#/components/schemas/Detail' }, { $ref: '#/components/schemas/FieldErrors' }] });
  registry.registerComponent('schemas', 'FleetError', {
    type: 'object',
    description: "fleet's error body (fleetctl prints it as `googleapi: Error N: message`).",
    properties: { error: { type: 'object', properties: { code: { type: 'integer' }, message: { type: 'string' } }, required: ['code', 'message'] } },
    required: ['error'],
  });
  for (const [code, text] of Object.entries(STATUS_TEXT)) {
    const status = Number(code);
    const drf = status === 400 ? 'Error' : 'Detail';
    registry.registerComponent('responses', `Error${status}`, { description: text, content: { 'application/json': { schema: { $ref: `#/components/schemas/${drf}` } } } });
    registry.registerComponent('responses', `FleetError${status}`, { description: text, content: { 'application/json': { schema: { $ref: '#/components/schemas/FleetError' } } } });
  }
  registry.registerComponent('securitySchemes', 'jwt', {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: 'djangorestframework-jwt\'s header: `Authorization: JWT <token>`, the token from POST /api-token-auth/ (enter "JWT <token>").',
  });
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The same token as `Authorization: Bearer <token>`.' });
  registry.registerComponent('securitySchemes', 'session', { type: 'apiKey', in: 'cookie', name: 'sessionid', description: 'The session cookie from POST /v1/auth/login (a browser sends it by itself).' });
  registry.registerComponent('securitySchemes', 'csrf', { type: 'apiKey', in: 'header', name: 'X-CSRFToken', description: 'With a session, writes carry the csrf_token login answered (also in the csrftoken cookie).' });
}

/** An OpenAPI 3.1 document of every mounted route. */
export function buildOpenApiDocument(mounts: readonly MountedRoutes[], info: DocumentInfo): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registerComponents(registry);
  for (const mount of mounts) {
    for (const route of mount.routes) {
      const body = requestBodyOf(route);
      registry.registerPath({
        method: route.method,
        path: openApiPath(mount.base, route.path),
        operationId: operationId(mount, route),
        tags: [mount.name],
        summary: route.summary,
        description: `Answers: ${route.answer}`,
        parameters: parametersOf(route) as RouteConfig['parameters'],
        request: { ...(route.querySchema ? { query: route.querySchema } : {}), ...(body ? { body } : {}) },
        responses: responsesOf(mount, route),
        security: securityOf(mount, route),
      });
    }
  }
  const generator = new OpenApiGeneratorV31(registry.definitions);
  const document = generator.generateDocument({
    openapi: '3.1.0',
    info,
    tags: mounts.map((m) => ({ name: m.name, description: m.description })).filter((tag, i, all) => all.findIndex((t) => t.name === tag.name) === i),
    security: [{ jwt: [] }, { bearer: [] }, { session: [] }],
  });
  for (const mount of mounts) for (const route of mount.routes) markFileFields(document, openApiPath(mount.base, route.path), route);
  return document;
}

/** In a multipart body, a file field (`bodyFiles`) is a file, not the string its JSON form takes. */
function markFileFields(document: OpenApiDocument, path: string, route: RouteDef): void {
  const body = document.paths?.[path]?.[route.method]?.requestBody;
  if (!route.bodyFiles?.length || !body || !('content' in body)) return;
  const schema = body.content['multipart/form-data']?.schema;
  if (!schema || !('properties' in schema) || !schema.properties) return;
  const files = Object.fromEntries(route.bodyFiles.map((name) => [name, { type: 'string' as const, format: 'binary', description: 'The file itself.' }]));
  // A copy: the JSON form's schema may be the same object.
  body.content['multipart/form-data'] = { schema: { ...schema, properties: { ...schema.properties, ...files } } };
}
