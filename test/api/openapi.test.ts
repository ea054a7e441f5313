/**
 * The API described by itself: GET /v1/openapi.json is a valid OpenAPI 3.1 document (checked by an
 * OpenAPI validator), describes every route of every route table the app mounts, and every path it
 * documents answers on the running system (never the unknown-route 404); /docs serves swagger-ui
 * from the bundled package.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'supertest';
import { z } from 'zod';
import { catalogEntries, routeCatalogOf, UNKNOWN_ROUTE } from '../../api/app';
import { openApiPath } from '../../api/description/openapi-document';
import * as answers from '../../api/containers/response-schemas';
import { projectRoot } from '../../common/project-root';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

const run = promisify(execFile);

interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: { properties?: Record<string, unknown>; additionalProperties?: unknown; required?: string[] } }> };
  responses: Record<string, unknown>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

let system: TestSystem;
let admin: string;
let user: string;
let doc: Document;
/** Objects that exist: a finished container that changed /tmp/x, and a volume. */
const real = { container: '', volume: '' };

beforeAll(async () => {
  system = await startSystem();
  admin = await system.token('admin');
  user = await system.token(`openapi-${randomBytes(3).toString('hex')}`);
  doc = (await system.http().get('/v1/openapi.json').expect(200).expect('Content-Type', /json/)).body as Document;
  const created = await system.http().post('/v1/container/').set('Authorization', `JWT ${admin}`).send({ script: b64('#!/bin/sh\necho hello\necho x > /tmp/x\n') }).expect(201);
  real.container = created.body.id as string;
  real.volume = (await system.http().post('/v1/volumes/').set('Authorization', `JWT ${admin}`).send({ name: `openapi-${randomBytes(3).toString('hex')}` }).expect(201)).body.id as string;
  await eventually(async () => {
    const res = await system.http().get(`/v1/container/${real.container}/state`).set('Authorization', `JWT ${admin}`);
    return res.body.status === 'exited' ? true : undefined;
  }, 30000, 'the container to exit');
}, 90000);

afterAll(async () => {
  await system.close();
}, 120000);

/** Every documented operation, as [path template, method, operation]. */
function operations(): Array<[string, string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]): [string, string, Operation] => [path, method, op]));
}

/** A path template with ids nobody has (random 32-hex ids, unknown names), or with real ones. */
function concrete(path: string, useReal = false): string {
  const hex = randomBytes(16).toString('hex');
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name === 'filepath') return path.startsWith('/docs/') ? 'swagger-ui.css' : 'tmp/x';
    if (name === 'num') return '0';
    if (name === 'name') return `none-${hex.slice(0, 8)}.service`;
    if (name === 'username') return `nobody-${hex.slice(0, 8)}`;
    if (useReal && path.startsWith('/v1/container/')) return real.container;
    if (useReal && path.startsWith('/v1/volumes/')) return real.volume;
    return hex;
  });
}

type Call = (path: string, method: string, credentials: string | null, useReal?: boolean) => Promise<{ status: number; body: unknown }>;

const call: Call = async (path, method, credentials, useReal = false) => {
  let req = system.http()[method as 'get'](concrete(path, useReal));
  if (credentials) req = req.set('Authorization', `JWT ${credentials}`);
  // A write carries a body every schema refuses (an unknown field), so that no probe changes anything.
  if (method !== 'get') req = req.set('Content-Type', 'application/json').send(JSON.stringify({ openapi_probe: true }));
  const res = await req;
  return { status: res.status, body: res.body as unknown };
};

test('the document is OpenAPI 3.1 and passes an OpenAPI validator', async () => {
  expect(doc.openapi).toBe('3.1.0');
  const dir = mkdtempSync(join(tmpdir(), 'boatload-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const cli = join(projectRoot(), 'node_modules', '@seriousme', 'openapi-schema-validator', 'bin', 'validate-api-cli.js');
    const { stdout } = await run(process.execPath, [cli, file]).catch((err: { stdout?: string }) => {
      throw new Error(`the validator refused the document: ${err.stdout ?? JSON.stringify(err)}`);
    });
    expect(JSON.parse(stdout)).toEqual({ valid: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('it is served without credentials and names the security schemes and the DRF and fleet error shapes', async () => {
  expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'csrf', 'jwt', 'session']);
  expect(doc.components.securitySchemes.jwt).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
  expect(doc.components.securitySchemes.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'sessionid' });
  expect(doc.components.schemas).toMatchObject({
    Detail: { properties: { detail: { type: 'string' } }, required: ['detail'] },
    FieldErrors: { additionalProperties: { type: 'array', items: { type: 'string' } } },
    FleetError: { required: ['error'] },
  });
  expect(doc.paths['/v1/container/{id}']?.get?.responses['404']).toEqual({ $ref: '#/components/responses/Error404' });
  expect(doc.paths['/fleet/v1/units/{name}']?.get?.responses['404']).toEqual({ $ref: '#/components/responses/FleetError404' });
});

test('every route of every mounted route table is in the document, with its path parameters', () => {
  const entries = catalogEntries(routeCatalogOf(system.api.app));
  expect(entries.map((e) => e.name)).toEqual(expect.arrayContaining(['description', 'auth', 'users', 'container', 'volumes', 'snapshots', 'operations', 'units', 'fleet']));
  let count = 0;
  for (const entry of entries) {
    for (const route of entry.routes) {
      const path = openApiPath(entry.base, route.path);
      const op = doc.paths[path]?.[route.method];
      if (!op) throw new Error(`${route.method.toUpperCase()} ${path} (${entry.name}) is not in the document`);
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(inPath);
      count++;
    }
  }
  expect(operations()).toHaveLength(count);
  for (const path of Object.keys(doc.paths)) expect(path).not.toMatch(/[:*]/);
  // The ones asked for by name.
  for (const [path, method] of [
    ['/v1/container/', 'post'],
    ['/v1/container/{id}/file/{filepath}', 'get'],
    ['/v1/container/{id}/exec', 'post'],
    ['/fleet/v1/units/{name}', 'put'],
    ['/v1/users/', 'post'],
    ['/api-token-auth', 'post'],
    ['/v1/volumes/', 'post'],
    ['/v1/snapshots/{id}', 'delete'],
    ['/v1/operations/', 'get'],
    ['/v1/units/help', 'get'],
    ['/health', 'get'],
    ['/v1/openapi.json', 'get'],
    ['/docs', 'get'],
  ] as const) {
    expect(doc.paths[path]?.[method]).toBeDefined();
  }
});

test('request bodies are the zod schemas the handlers validate with', async () => {
  const create = doc.paths['/v1/container/']?.post?.requestBody;
  const schema = create?.content['application/json']?.schema;
  // memory, cpus and pids have no FieldDoc: only the zod schema knows them.
  expect(Object.keys(schema?.properties ?? {})).toEqual(expect.arrayContaining(['image_name', 'script', 'container_args', 'env', 'volumes', 'memory', 'cpus', 'pids', 'snapshot']));
  expect(schema?.additionalProperties).toBe(false);
  expect(Object.keys(create?.content ?? {})).toEqual(expect.arrayContaining(['application/json', 'multipart/form-data']));
  expect(create?.required).toBe(false);
  // The script is a file in a multipart create, base64 text in JSON.
  expect(create?.content['multipart/form-data']?.schema.properties?.script).toMatchObject({ type: 'string', format: 'binary' });
  expect(schema?.properties?.script).toEqual({ type: 'string' });
  const exec = doc.paths['/v1/container/{id}/exec']?.post?.requestBody;
  expect(exec?.required).toBe(true);
  expect(exec?.content['application/json']?.schema).toMatchObject({ required: ['cmd'], properties: { timeout: { maximum: system.config.actions.execTimeoutMaxSeconds } } });
  expect(doc.paths['/v1/volumes/']?.post?.requestBody?.content['application/json']?.schema).toMatchObject({ required: ['name'], additionalProperties: false });
  expect(doc.paths['/api-token-auth']?.post?.requestBody?.content['application/json']?.schema).toMatchObject({ required: ['username', 'password'] });
  // Queries too: ?stream= of stdout is the schema's enum, and the API refuses what it leaves out.
  const stream = doc.paths['/v1/container/{id}/stdout']?.get?.parameters?.find((p) => p.name === 'stream') as { in: string; schema?: { enum?: string[] } } | undefined;
  expect(stream).toMatchObject({ in: 'query', schema: { enum: ['stdout', 'stderr', 'all'] } });
  const bad = await system.http().get(`/v1/container/${real.container}/stdout?stream=both`).set('Authorization', `JWT ${admin}`).expect(400);
  expect(bad.body).toEqual({ stream: ['Must be stdout, stderr or all.'] });
  // What the document says is what the API refuses: an unknown field is a 400 naming it.
  const res = await system.http().post('/v1/volumes/').set('Authorization', `JWT ${admin}`).send({ name: 'ok', extra: 1 }).expect(400);
  expect(res.body).toEqual({ extra: ['Unknown field.'] });
});

test("the container routes describe their answers' bodies, and real answers parse with those same schemas", async () => {
  const auth = (req: Test): Test => req.set('Authorization', `JWT ${admin}`);
  const running = (await auth(system.http().post('/v1/container/')).send({ container_args: ['sleep', '60'] }).expect(201)).body.id as string;
  await eventually(async () => ((await auth(system.http().get(`/v1/container/${running}`))).body.status === 'running' ? true : undefined), 30000, 'the container to run');
  const cases: Array<[string, string, z.ZodTypeAny, () => Promise<unknown>]> = [
    ['get', '/v1/container/', answers.containerSummarySchema.array(), async () => (await auth(system.http().get('/v1/container/')).expect(200)).body],
    ['get', '/v1/container/{id}', answers.containerSchema, async () => (await auth(system.http().get(`/v1/container/${real.container}`)).expect(200)).body],
    ['get', '/v1/container/{id}/state', answers.containerStateSchema, async () => (await auth(system.http().get(`/v1/container/${running}/state`)).expect(200)).body],
    ['get', '/v1/container/{id}/metrics', answers.containerMetricsSchema, async () => (await auth(system.http().get(`/v1/container/${running}/metrics`)).expect(200)).body],
    ['get', '/v1/container/{id}/changes', answers.changesSchema, async () => (await auth(system.http().get(`/v1/container/${real.container}/changes`)).expect(200)).body],
    ['get', '/v1/container/{id}/file', answers.filesSchema, async () => (await auth(system.http().get(`/v1/container/${real.container}/file`)).expect(200)).body],
    ['post', '/v1/container/{id}/exec', answers.execResultSchema, async () => (await auth(system.http().post(`/v1/container/${running}/exec`)).send({ cmd: ['echo', 'hi'] }).expect(200)).body],
    ['post', '/v1/container/{id}/stop', answers.operationAnswerSchema, async () => (await auth(system.http().post(`/v1/container/${running}/stop`)).expect(202)).body],
  ];
  for (const [method, path, schema, answer] of cases) {
    const op = doc.paths[path]?.[method];
    const status = method === 'post' && path.endsWith('/stop') ? '202' : '200';
    const described = (op?.responses[status] as { content?: Record<string, { schema?: { type?: string } }> } | undefined)?.content?.['application/json']?.schema;
    // A real schema (an object or an array), not the empty one an answer's text alone gives.
    expect([path, described?.type]).toEqual([path, schema instanceof z.ZodArray ? 'array' : 'object']);
    const body = await answer();
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new Error(`${method.toUpperCase()} ${path}: the answer does not match its described schema: ${parsed.error.message}\n${JSON.stringify(body)}`);
  }
  // Strict: a field the schema does not name is refused (so a new field cannot go undescribed).
  expect(answers.containerSchema.safeParse({ ...((await auth(system.http().get(`/v1/container/${real.container}`))).body as object), extra: 1 }).success).toBe(false);
  await auth(system.http().delete(`/v1/container/${running}`)).expect(204);
}, 60000);

test('an unknown route and an unknown object are different 404s', async () => {
  const unknownRoute = await system.http().get('/v1/container/0123/no-such-thing').set('Authorization', `JWT ${admin}`).expect(404);
  expect(unknownRoute.body).toEqual({ detail: UNKNOWN_ROUTE });
  expect((await system.http().get('/no-such-page').expect(404)).body).toEqual({ detail: UNKNOWN_ROUTE });
  const unknownObject = await system.http().get(`/v1/container/${randomBytes(16).toString('hex')}`).set('Authorization', `JWT ${admin}`).expect(404);
  expect(unknownObject.body).toEqual({ detail: 'Not found.' });
});

/** A 404 is acceptable only as "this object does not exist", never as "no such route". */
function answered(path: string, res: { status: number; body: unknown }): void {
  const fleet = path.startsWith('/fleet/');
  if (res.status !== 404) return;
  if (fleet) expect((res.body as { error?: { message?: string } }).error?.message).toMatch(/does not exist/);
  else expect(res.body).toEqual({ detail: 'Not found.' });
}

test('every documented path answers on the running system (as admin), never with the unknown-route 404', async () => {
  const seen: string[] = [];
  for (const [path, method] of operations()) {
    const res = await call(path, method, admin);
    seen.push(`${method.toUpperCase()} ${path} → ${res.status}`);
    try {
      answered(path, res);
      expect(res.status).toBeLessThan(500);
      expect(res.status).not.toBe(401);
    } catch (err) {
      throw new Error(`${method.toUpperCase()} ${path} → ${res.status} ${JSON.stringify(res.body)}: ${(err as Error).message}`);
    }
  }
  if (process.env.OPENAPI_DEBUG) console.log(seen.join("\n"));
  expect(seen.length).toBeGreaterThan(50);
}, 120000);

test('every documented read of a container or a volume answers with success for one that exists', async () => {
  const reads = operations().filter(([path, method]) => method === 'get' && /^\/v1\/(container|volumes)\/\{id\}/.test(path));
  expect(reads.length).toBeGreaterThan(10);
  for (const [path, method] of reads) {
    const res = await call(path, method, admin, true);
    // The terminal is a WebSocket: a plain GET is told to upgrade.
    const expected = path.endsWith('/terminal') ? 426 : res.status < 300 ? res.status : 'a 2xx';
    expect([`${method.toUpperCase()} ${path}`, res.status]).toEqual([`${method.toUpperCase()} ${path}`, expected]);
  }
}, 120000);

test('the security each operation declares is what the API asks for', async () => {
  for (const [path, method, op] of operations()) {
    const open = (op.security ?? []).length === 0;
    const anonymous = await call(path, method, null);
    const where = `${method.toUpperCase()} ${path} → ${anonymous.status}`;
    if (open) expect([where, anonymous.status === 401]).toEqual([where, false]);
    else expect([where, anonymous.status]).toEqual([where, 401]);
    // Admin-only routes (a 403 documented for GETs too) refuse a user.
    if (!open && method === 'get' && op.responses['403']) {
      expect([where, (await call(path, method, user)).status]).toEqual([where, 403]);
    }
  }
}, 120000);

test('/docs serves swagger-ui from the bundled package, pointed at the document', async () => {
  const page = await system.http().get('/docs').expect(200).expect('Content-Type', /text\/html/);
  const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  expect(refs).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui.css', '/docs/assets/swagger-ui-bundle.js', '/docs/init.js']));
  // Nothing from another origin.
  for (const ref of refs) expect(ref).toMatch(/^\/docs\//);
  for (const ref of refs) {
    const res = await system.http().get(ref).expect(200);
    expect(Number(res.headers['content-length'] ?? (res.text ?? '').length)).toBeGreaterThan(0);
  }
  const bundle = await system.http().get('/docs/assets/swagger-ui-bundle.js').expect(200).expect('Content-Type', /javascript/);
  expect(bundle.text).toContain('SwaggerUIBundle');
  const init = await system.http().get('/docs/init.js').expect(200).expect('Content-Type', /javascript/);
  expect(init.text).toContain('url: "/v1/openapi.json"');
  expect(init.text).toContain('persistAuthorization: true');
  expect(init.text).toContain('validatorUrl: null');
  // Only the page's own files: no other file of the package, no path out of it.
  expect((await system.http().get('/docs/assets/package.json').expect(404)).body).toEqual({ detail: 'Not found.' });
  await system.http().get('/docs/assets/..%2F..%2Fpackage.json').expect(404);
});

test('"try it": a call made the way swagger-ui makes it, with the JWT scheme, works', async () => {
  // swagger-ui sends the apiKey value the user enters as the Authorization header.
  const res = await system.http().get('/v1/auth/me').set('Authorization', `JWT ${admin}`).expect(200);
  expect(res.body).toMatchObject({ username: 'admin', auth: 'jwt' });
  await system.http().get('/v1/auth/me').set('Authorization', `Bearer ${admin}`).expect(200);
});
