/**
 * The fleet v1 routes over HTTP: every route, status code and error, page tokens, auth on the
 * main port, the unix socket without auth, HTTPS with client certificates, and the link between
 * /v1/container/ records and their units. Real engine, real store.
 */
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { silentLogger } from '../../common/logger';
import { startFleetListeners } from '../../api/fleet/listeners';
import { parseUnitFile, serializeUnit, unitHash, type UnitOption } from '../../units/unit-file';
import { socketTransport, tlsTransport } from '../support/fleet-http';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';

const tag = randomBytes(3).toString('hex');
const workDir = mkdtempSync(join(tmpdir(), 'boatload-fleet-routes-'));
const socketPath = join(workDir, 'fleet.sock');

let system: TestSystem;
let admin: string;
let alice: string;

const opts = (text: string): UnitOption[] => parseUnitFile(text);
const unitText = (container: string, extra = ''): string =>
  `[Unit]\nDescription=routes ${container}\n\n[Service]\nExecStart=/usr/bin/docker run --name ${container} ${extra} boatload/base:latest sleep 1000\nRestart=no\n`;

const http = () => system.http();
const asAdmin = (req: request.Test): request.Test => req.set('Authorization', `JWT ${admin}`);
const get = (path: string) => asAdmin(http().get(`/fleet/v1${path}`));
const del = (path: string) => asAdmin(http().delete(`/fleet/v1${path}`));
const put = (name: string, body: unknown, contentType = 'application/json') =>
  asAdmin(http().put(`/fleet/v1/units/${encodeURIComponent(name)}`)).set('Content-Type', contentType).send(typeof body === 'string' ? body : `${JSON.stringify(body)}\n`);
const patchMachines = (body: unknown) =>
  asAdmin(http().patch('/fleet/v1/machines')).set('Content-Type', 'application/json').send(JSON.stringify(body));

const fleetError = (code: number, message: string | RegExp) => ({ error: { code, message: typeof message === 'string' ? message : expect.stringMatching(message) } });

beforeAll(async () => {
  system = await startSystem({ BOATLOAD_FLEET_SOCKET: socketPath });
  admin = await system.token('admin');
  alice = await system.token('alice');
});

afterAll(async () => {
  await system.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('routing', () => {
  test('GET /discovery answers the discovery document', async () => {
    const res = await get('/discovery?alt=json').expect(200);
    expect(res.body).toMatchObject({ kind: 'discovery#restDescription', id: 'fleet:v1', servicePath: 'fleet/v1/' });
    expect(Object.keys(res.body.resources).sort()).toEqual(['Machines', 'UnitState', 'Units']);
  });

  test('an empty list answers {}', async () => {
    expect((await get('/units?alt=json').expect(200)).body).toEqual({});
    expect((await get('/state?alt=json').expect(200)).body).toEqual({});
  });

  test('?alt=json is accepted; another alt is a 400; the /v1-alpha alias serves the same routes', async () => {
    await get('/units?alt=json').expect(200);
    expect((await get('/units?alt=xml').expect(400)).body).toEqual(fleetError(400, 'unsupported alt=xml: only json is served'));
    await asAdmin(http().get('/v1-alpha/units?alt=json')).expect(200);
    await asAdmin(http().get('/v1-alpha/discovery')).expect(200);
  });

  test('a trailing slash and unknown paths are 404s in fleet shape', async () => {
    for (const path of ['/units/', '/machines/', '/state/', '/units/x.service/', '/nothing', '/', '/units/a/b']) {
      const res = await get(path).expect(404);
      expect(res.body).toEqual(fleetError(404, 'not found'));
    }
  });

  test('a wrong method is a 405 with a message and an Allow header', async () => {
    const cases: Array<[string, string, string]> = [
      ['post', '/units', 'GET'],
      ['delete', '/machines', 'GET, PATCH'],
      ['post', '/units/x.service', 'GET, PUT, DELETE'],
      ['put', '/state', 'GET'],
      ['delete', '/state/x.service', 'GET'],
      ['post', '/discovery', 'GET'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await asAdmin(http()[method as 'post'](`/fleet/v1${path}`)).expect(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.body).toEqual(fleetError(405, `method ${method.toUpperCase()} is not allowed here; use ${allow.split(', ').join(' or ')}`));
    }
  });
});

describe('PUT /units/{name}', () => {
  const name = `r-${tag}-a.service`;
  const text = unitText(`r-${tag}-a`);

  test('415 unless Content-Type is exactly application/json', async () => {
    for (const type of ['text/plain', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded']) {
      const res = await put(name, { options: opts(text) }, type).expect(415);
      expect(res.body).toEqual(fleetError(415, 'only request body of type application/json supported'));
    }
    const bare = await asAdmin(http().put(`/fleet/v1/units/${name}`)).send(Buffer.from('{}')).expect(415);
    expect(bare.body.error.code).toBe(415);
  });

  test('400 for a body that does not decode', async () => {
    expect((await put(name, '{"options": [').expect(400)).body).toEqual(fleetError(400, /^unable to decode body: /));
    expect((await put(name, '').expect(400)).body.error.code).toBe(400);
    expect((await put(name, '[]').expect(400)).body).toEqual(fleetError(400, 'unable to decode body: expected a JSON object (a Unit)'));
    expect((await put(name, { options: 'x' }).expect(400)).body).toEqual(fleetError(400, 'unable to decode body: options must be a list of {section, name, value}'));
    expect((await put(name, { options: [{ section: 'Service', name: 'ExecStart', value: 1 }] }).expect(400)).body).toEqual(fleetError(400, 'unable to decode body: options[0].value must be a string'));
    expect((await put(name, { desiredState: 3 }).expect(400)).body).toEqual(fleetError(400, 'unable to decode body: desiredState must be a string'));
  });

  test('400 when the body names another unit', async () => {
    const res = await put(name, { name: 'other.service', options: opts(text) }).expect(400);
    expect(res.body).toEqual(fleetError(400, `name in URL "${name}" differs from unit name in request body "other.service"`));
  });

  test('400 for invalid names', async () => {
    for (const bad of ['bad name.service', '@x.service', 'x.unknown', 'noext', `${'a'.repeat(250)}.service`, 'foo@.mount', 'a$b.service']) {
      const res = await put(bad, { options: opts(text) }).expect(400);
      expect(res.body.error.code).toBe(400);
      expect(res.body.error.message).toMatch(/unit name/);
    }
  });

  test('409 for a new unit without options', async () => {
    expect((await put(name, { desiredState: 'launched' }).expect(409)).body).toEqual(fleetError(409, 'unit does not exist and options field empty'));
    expect((await put(name, { options: [] }).expect(409)).body.error.code).toBe(409);
  });

  test("400 for options fleet refuses", async () => {
    const withFleet = (xfleet: string): UnitOption[] => opts(`${text}\n[X-Fleet]\n${xfleet}\n`);
    const cases: Array<[string, string]> = [
      ['MachineID=abc\nGlobal=true', 'MachineID cannot be used with Global'],
      ['MachineID=abc\nMachineOf=x.service', 'MachineID cannot be used with MachineOf'],
      ['MachineID=abc\nConflicts=x*', 'MachineID cannot be used with Conflicts'],
      ['MachineID=abc\nReplaces=x.service', 'MachineID cannot be used with Replaces'],
      ['Global=true\nMachineOf=x.service', 'Global cannot be used with MachineOf'],
      ['Global=true\nReplaces=x.service', 'Global cannot be used with Replaces'],
      ['Conflicts=x*\nReplaces=y.service', 'Conflicts cannot be used with Replaces'],
      ['MachineOf=web.service\nConflicts=web*', 'unresolvable requirements: MachineOf "web.service" matches Conflicts "web*"'],
      ['MachineMetadata=novalue', 'MachineMetadata "novalue" is not key=value'],
    ];
    for (const [xfleet, message] of cases) {
      expect((await put(name, { options: withFleet(xfleet) }).expect(400)).body).toEqual(fleetError(400, message));
    }
    const long = [...opts(text), { section: 'Unit', name: 'Documentation', value: 'x'.repeat(2100) }];
    expect((await put(name, { options: long }).expect(400)).body).toEqual(fleetError(400, 'Documentation= line is longer than 2048 bytes'));
  });

  test('400 for units that do not describe a container', async () => {
    const noExec = opts('[Unit]\nDescription=x\n');
    expect((await put(name, { options: noExec }).expect(400)).body).toEqual(fleetError(400, 'a container unit needs exactly one ExecStart= (found 0)'));
    expect((await put(`r-${tag}.socket`, { options: opts(text) }).expect(400)).body).toEqual(fleetError(400, `only .service units are supported (units describe containers), not r-${tag}.socket`));
    const notDocker = opts('[Service]\nExecStart=/bin/sh -c "echo hi"\n');
    expect((await put(name, { options: notDocker }).expect(400)).body).toEqual(fleetError(400, 'ExecStart: ExecStart must be "/usr/bin/docker run ..."'));
    expect((await put(name, { options: opts(unitText(`r-${tag}-a`, '--cap-add SYS_ADMIN')) }).expect(400)).body).toEqual(fleetError(400, 'ExecStart: unsupported docker run flag "--cap-add"'));
    expect((await put(name, { options: opts(unitText(`r-${tag}-a`, '-e FROM_HOST')) }).expect(400)).body.error.message).toMatch(/host environment is not passed/);
    expect((await put(name, { options: opts(`${text}ExecStop=/usr/bin/curl http://x\n`) }).expect(400)).body).toEqual(fleetError(400, 'ExecStop: units may not run host commands: /usr/bin/curl http://x'));
    expect((await put(name, { options: opts(`${text}ExecStop=/usr/bin/docker stop someone-else\n`) }).expect(400)).body.error.message).toMatch(/is not this unit's container/);
  });

  test('201 creates an inactive unit; GET answers it with empty fields left out', async () => {
    await put(name, { options: opts(text) }).expect(201);
    const res = await get(`/units/${name}?alt=json`).expect(200);
    expect(res.body).toEqual({ name, options: opts(text), desiredState: 'inactive', currentState: 'inactive' });
  });

  test('the same options again: 409 without desiredState, 400 for an unknown one, 204 with a valid one', async () => {
    expect((await put(name, { options: opts(text) }).expect(409)).body).toEqual(fleetError(409, 'must provide DesiredState to update existing unit'));
    expect((await put(name, { name }).expect(409)).body.error.code).toBe(409);
    expect((await put(name, { desiredState: 'running' }).expect(400)).body).toEqual(fleetError(400, 'invalid desiredState "running": expect inactive, loaded, launched'));
    await put(name, { options: opts(text), desiredState: 'loaded' }).expect(204);
    expect((await get(`/units/${name}`).expect(200)).body).toMatchObject({ desiredState: 'loaded', currentState: 'loaded', machineID: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  test('/state lists loaded units with the SHA-1 hash; /state/{name} answers one', async () => {
    const state = { name, hash: unitHash(opts(text)), machineID: expect.stringMatching(/^[0-9a-f]{32}$/), systemdLoadState: 'loaded', systemdActiveState: 'inactive', systemdSubState: 'dead' };
    expect((await get(`/state/${name}?alt=json`).expect(200)).body).toEqual(state);
    expect((await get('/state').expect(200)).body).toEqual({ states: [state] });
    expect(unitHash(opts(text))).toMatch(/^[0-9a-f]{40}$/);
  });

  test('changed options replace the unit: 201, the old container goes, the unit starts over inactive', async () => {
    const changed = unitText(`r-${tag}-a2`);
    await put(name, { options: opts(changed) }).expect(201);
    expect((await get(`/units/${name}`).expect(200)).body).toEqual({ name, options: opts(changed), desiredState: 'inactive', currentState: 'inactive' });
    await expect(new Docker().getContainer(`r-${tag}-a`).inspect()).rejects.toThrow();
    await get(`/state/${name}`).expect(404);
    await put(name, { options: opts(unitText(`r-${tag}-a3`)), desiredState: 'loaded' }).expect(201);
    expect((await get(`/units/${name}`).expect(200)).body).toMatchObject({ desiredState: 'loaded', currentState: 'loaded' });
    expect((await new Docker().getContainer(`r-${tag}-a3`).inspect()).State.Status).toBe('created');
  });

  test('a container name another unit uses is a 409', async () => {
    const res = await put(`r-${tag}-b.service`, { options: opts(unitText(`r-${tag}-a3`)) }).expect(409);
    expect(res.body).toEqual(fleetError(409, `container name "r-${tag}-a3" is already used by unit ${name}`));
  });

  test('templates: stored (201), never activated (400), instances by percent-encoded name', async () => {
    const template = `r-${tag}-t@.service`;
    const templateText = unitText(`r-${tag}-t-%i`);
    await put(template, { options: opts(templateText) }).expect(201);
    expect((await put(template, { desiredState: 'launched' }).expect(400)).body).toEqual(fleetError(400, `cannot activate template ${template}`));
    expect((await put(template, { desiredState: 'loaded' }).expect(400)).body.error.message).toMatch(/^cannot activate template/);
    await put(template, { desiredState: 'inactive' }).expect(204);
    expect((await put(`r-${tag}-u@.service`, { options: opts(templateText), desiredState: 'launched' }).expect(400)).body.error.message).toMatch(/^cannot activate template/);
    const instance = `r-${tag}-t@7.service`;
    await asAdmin(http().put(`/fleet/v1/units/r-${tag}-t%407.service`)).set('Content-Type', 'application/json').send(JSON.stringify({ options: opts(templateText) })).expect(201);
    expect((await asAdmin(http().get(`/fleet/v1/units/r-${tag}-t%407.service`)).expect(200)).body.name).toBe(instance);
    await del(`/units/${encodeURIComponent(instance)}`).expect(204);
    await del(`/units/${encodeURIComponent(template)}`).expect(204);
  });

  test('a convergence that fails still answers 204; the unit keeps its state and says why', async () => {
    const missing = `r-${tag}-missing.service`;
    const options = opts(`[Service]\nExecStart=/usr/bin/docker run --name r-${tag}-missing boatload/no-such-image:${tag}\n`);
    await put(missing, { options }).expect(201);
    await put(missing, { desiredState: 'launched' }).expect(204);
    const unit = (await get(`/units/${missing}`).expect(200)).body;
    expect(unit).toMatchObject({ desiredState: 'launched', currentState: 'inactive' });
    expect(unit.reason).toBe(`image_name: Image "boatload/no-such-image:${tag}" is not present on this host and cannot be pulled (no registry).`);
    await del(`/units/${missing}`).expect(204);
  });

  test('a container of the same name that BoatLoad did not create is never touched', async () => {
    const docker = new Docker();
    const foreignName = `r-${tag}-foreign`;
    const foreign = await docker.createContainer({ name: foreignName, Image: 'boatload/base:latest', Cmd: ['true'] });
    try {
      const unitName = `${foreignName}.service`;
      await put(unitName, { options: opts(unitText(foreignName)), desiredState: 'launched' }).expect(201);
      const unit = (await get(`/units/${unitName}`).expect(200)).body;
      expect(unit).toMatchObject({ desiredState: 'launched', currentState: 'inactive', reason: `the engine already has a container named "${foreignName}" that BoatLoad did not create` });
      await del(`/units/${unitName}`).expect(204);
      expect((await foreign.inspect()).Name).toBe(`/${foreignName}`);
    } finally {
      await foreign.remove({ force: true });
    }
  });

  test('GET and DELETE of a unit that does not exist are 404s', async () => {
    expect((await get('/units/none.service').expect(404)).body).toEqual(fleetError(404, 'unit does not exist'));
    expect((await del('/units/none.service').expect(404)).body).toEqual(fleetError(404, 'unit does not exist'));
    expect((await get('/state/none.service').expect(404)).body).toEqual(fleetError(404, 'unit state does not exist'));
  });

  test('DELETE removes the unit and its container: 204', async () => {
    await del(`/units/${name}`).expect(204);
    await get(`/units/${name}`).expect(404);
    await expect(new Docker().getContainer(`r-${tag}-a3`).inspect()).rejects.toThrow();
  });
});

describe('pagination', () => {
  const many = Array.from({ length: 101 }, (_, i) => `p-${tag}-${String(i).padStart(3, '0')}.service`);

  beforeAll(async () => {
    for (const unitName of many) await put(unitName, { options: opts(unitText(unitName.replace('.service', ''))) }).expect(201);
  });

  afterAll(async () => {
    for (const unitName of many) await del(`/units/${unitName}`).expect(204);
  });

  test('GET /units pages by 100, sorted by name, with fleet tokens', async () => {
    const first = (await get('/units?alt=json').expect(200)).body;
    expect(first.units).toHaveLength(100);
    expect(first.units.map((u: { name: string }) => u.name)).toEqual(many.slice(0, 100));
    expect(first.nextPageToken).toBe('ZAACAA==');
    const second = (await get(`/units?alt=json&nextPageToken=${encodeURIComponent(first.nextPageToken)}`).expect(200)).body;
    expect(second).toEqual({ units: [expect.objectContaining({ name: many[100] })] });
    expect((await get('/units?nextPageToken=ZAADAA%3D%3D').expect(200)).body).toEqual({});
  });

  test('bad tokens are 400s: garbage, another limit, page 0, two tokens', async () => {
    const limit50 = Buffer.from([50, 0, 2, 0]).toString('base64');
    const page0 = Buffer.from([100, 0, 0, 0]).toString('base64');
    for (const query of ['nextPageToken=%%%', `nextPageToken=${encodeURIComponent(limit50)}`, `nextPageToken=${encodeURIComponent(page0)}`, 'nextPageToken=ZAACAA%3D%3D&nextPageToken=ZAADAA%3D%3D', 'nextPageToken=abc']) {
      const res = await get(`/units?${query}`).expect(400);
      expect(res.body.error.code).toBe(400);
    }
    await get('/machines?nextPageToken=abc').expect(400);
    await get('/state?nextPageToken=abc').expect(400);
  });
});

describe('/state filters', () => {
  const one = `s-${tag}-one.service`;
  const two = `s-${tag}-two.service`;
  let machineId: string;

  beforeAll(async () => {
    await put(one, { options: opts(unitText(`s-${tag}-one`)), desiredState: 'loaded' }).expect(201);
    await put(two, { options: opts(unitText(`s-${tag}-two`)), desiredState: 'launched' }).expect(201);
    await put(`s-${tag}-three.service`, { options: opts(unitText(`s-${tag}-three`)) }).expect(201);
    machineId = (await get('/machines').expect(200)).body.machines[0].id;
  });

  afterAll(async () => {
    for (const unitName of [one, two, `s-${tag}-three.service`]) await del(`/units/${unitName}`).expect(204);
  });

  test('sorted by name; inactive units have no state; filters by machineID and unitName', async () => {
    const all = (await get('/state?alt=json').expect(200)).body.states;
    expect(all.map((s: { name: string }) => s.name)).toEqual([one, two]);
    expect(all[1]).toMatchObject({ systemdLoadState: 'loaded', systemdActiveState: 'active', systemdSubState: 'running' });
    expect((await get(`/state?unitName=${two}`).expect(200)).body.states.map((s: { name: string }) => s.name)).toEqual([two]);
    expect((await get(`/state?machineID=${machineId}`).expect(200)).body.states).toHaveLength(2);
    expect((await get('/state?machineID=0000').expect(200)).body).toEqual({});
    expect((await get(`/state?machineID=${machineId}&unitName=${one}`).expect(200)).body.states).toHaveLength(1);
  });
});

describe('/machines', () => {
  let machineId: string;

  beforeAll(async () => {
    machineId = (await get('/machines?alt=json').expect(200)).body.machines[0].id;
  });

  test('GET lists this host: a stable 32-hex id, its IP and the satellite metadata', async () => {
    const res = await get('/machines?alt=json').expect(200);
    expect(res.body).toEqual({ machines: [{ id: machineId, primaryIP: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/), metadata: { role: 'test' } }] });
    expect(machineId).toMatch(/^[0-9a-f]{32}$/);
  });

  test('PATCH adds, replaces and removes metadata: 204; the edits survive a restart', async () => {
    await patchMachines([
      { op: 'add', path: `/${machineId}/metadata/region`, value: { value: 'eu' } },
      { op: 'add', path: `/${machineId}/metadata/disk`, value: { value: 'hdd' } },
    ]).expect(204);
    await patchMachines([{ op: 'replace', path: `/${machineId}/metadata/disk`, value: { value: 'ssd' } }, { op: 'remove', path: `/${machineId}/metadata/role` }]).expect(204);
    expect((await get('/machines').expect(200)).body.machines[0].metadata).toEqual({ region: 'eu', disk: 'ssd' });
    await system.restartApi();
    expect((await get('/machines').expect(200)).body.machines[0].metadata).toEqual({ region: 'eu', disk: 'ssd' });
    await patchMachines([{ op: 'add', path: `/${machineId}/metadata/role`, value: { value: 'test' } }, { op: 'remove', path: `/${machineId}/metadata/region` }, { op: 'remove', path: `/${machineId}/metadata/disk` }]).expect(204);
    expect((await get('/machines').expect(200)).body.machines[0].metadata).toEqual({ role: 'test' });
  });

  test('PATCH errors are 400s and apply nothing', async () => {
    const cases: Array<[unknown, string | RegExp]> = [
      [{ op: 'add' }, 'unable to decode body: expected a list of operations'],
      [[{ op: 'move', path: `/${machineId}/metadata/a`, value: { value: 'x' } }], 'invalid op in operation 0: expect add, remove, or replace'],
      [[{ op: 'add', path: `/${machineId}/meta/a`, value: { value: 'x' } }], /^machine metadata path invalid/],
      [[{ op: 'add', path: `/${machineId}/metadata/a b`, value: { value: 'x' } }], /^machine metadata path invalid/],
      [[{ op: 'add', path: `/${machineId}/metadata/a` }], 'invalid value in operation 0: add and replace require a value'],
      [[{ op: 'replace', path: `/${machineId}/metadata/a`, value: { value: '' } }], 'invalid value in operation 0: add and replace require a value'],
      [[{ op: 'add', path: `/${machineId}/metadata/ok`, value: { value: 'x' } }, { op: 'add', path: '/0123/metadata/a', value: { value: 'x' } }], 'machine 0123 does not exist'],
    ];
    for (const [body, message] of cases) {
      expect((await patchMachines(body).expect(400)).body).toEqual(fleetError(400, message));
    }
    expect((await asAdmin(http().patch('/fleet/v1/machines')).set('Content-Type', 'application/json').send('[').expect(400)).body.error.message).toMatch(/^unable to decode body/);
    expect((await get('/machines').expect(200)).body.machines[0].metadata).toEqual({ role: 'test' });
  });
});

describe('auth on the main port', () => {
  test('without credentials: 401 in fleet shape, on every route', async () => {
    for (const [method, path] of [['get', '/units'], ['get', '/machines'], ['put', '/units/x.service'], ['get', '/nothing'], ['get', '/discovery']]) {
      const res = await http()[method as 'get'](`/fleet/v1${path}`).expect(401);
      expect(res.body).toEqual(fleetError(401, 'Authentication credentials were not provided.'));
    }
    expect((await http().get('/v1-alpha/units').expect(401)).body.error.code).toBe(401);
    expect((await http().get('/fleet/v1/units').set('Authorization', 'JWT garbage').expect(401)).body).toEqual(fleetError(401, 'Invalid or expired token.'));
  });

  test('a non-admin: 403 in fleet shape', async () => {
    const res = await http().get('/fleet/v1/units').set('Authorization', `JWT ${alice}`).expect(403);
    expect(res.body).toEqual(fleetError(403, 'You do not have permission to perform this action.'));
  });

  test('an admin: 200 with a JWT, and with a session (writes need the CSRF token)', async () => {
    await get('/units').expect(200);
    const agent = request.agent(system.api.app);
    const login = await agent.post('/v1/auth/login').send({ username: 'admin', password: 'admin' }).expect(200);
    await agent.get('/fleet/v1/units').expect(200);
    const name = `c-${tag}-session.service`;
    const body = JSON.stringify({ options: opts(unitText(`c-${tag}-session`)) });
    const refused = await agent.put(`/fleet/v1/units/${name}`).set('Content-Type', 'application/json').send(body).expect(403);
    expect(refused.body).toEqual(fleetError(403, 'CSRF Failed: CSRF token missing or incorrect.'));
    await agent.put(`/fleet/v1/units/${name}`).set('Content-Type', 'application/json').set('X-CSRFToken', login.body.csrf_token).send(body).expect(201);
    await agent.delete(`/fleet/v1/units/${name}`).set('X-CSRFToken', login.body.csrf_token).expect(204);
  });

  test('body-parser errors answer in fleet shape; /v1/ keeps the DRF shape', async () => {
    const huge = JSON.stringify({ options: [{ section: 'Unit', name: 'Description', value: 'x'.repeat(3 * 1024 * 1024) }] });
    const res = await put('big.service', huge).expect(413);
    expect(res.body).toEqual(fleetError(413, 'Request body is too large.'));
    expect((await http().get('/v1/container/').expect(401)).body).toEqual({ detail: 'Authentication credentials were not provided.' });
    expect((await http().post('/v1/container/').set('Authorization', `JWT ${admin}`).set('Content-Type', 'application/json').send('{').expect(400)).body).toHaveProperty('detail');
  });
});

describe('the unix socket', () => {
  const socket = () => socketTransport(socketPath);

  test('is mode 0600 and serves the fleet API without auth', async () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(socketPath).isSocket()).toBe(true);
    const res = await socket()({ method: 'GET', path: '/fleet/v1/machines?alt=json', headers: { 'User-Agent': 'google-api-go-client/0.5' } });
    expect(res.status).toBe(200);
    expect((res.body as { machines: unknown[] }).machines).toHaveLength(1);
    const name = `k-${tag}-sock.service`;
    const created = await socket()({ method: 'PUT', path: `/fleet/v1/units/${name}?alt=json`, headers: { 'Content-Type': 'application/json' }, body: `${JSON.stringify({ options: opts(unitText(`k-${tag}-sock`)) })}\n` });
    expect(created.status).toBe(201);
    expect((await socket()({ method: 'DELETE', path: `/fleet/v1/units/${name}` })).status).toBe(204);
  });

  test('serves only the fleet API, with fleet-shaped errors', async () => {
    const res = await socket()({ method: 'GET', path: '/v1/container/' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual(fleetError(404, 'not found'));
    expect((await socket()({ method: 'GET', path: '/v1-alpha/units' })).status).toBe(200);
    expect((await socket()({ method: 'PUT', path: '/fleet/v1/units/x.service', headers: { 'Content-Type': 'text/plain' }, body: '{}' })).status).toBe(415);
  });

  test('a stale socket file is replaced on start; a path that is not a socket is refused', async () => {
    // A socket file nobody listens on, as a killed API leaves it: a child listens, then dies by SIGKILL.
    const stale = join(workDir, 'stale.sock');
    const script = "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))";
    try {
      execFileSync(process.execPath, ['-e', script, stale], { stdio: 'ignore' });
    } catch {
      // killed, as intended
    }
    expect(statSync(stale).isSocket()).toBe(true);
    const app = () => undefined;
    const listeners = await startFleetListeners({ app, config: { socketPath: stale, tls: null }, logger: silentLogger });
    expect(statSync(stale).mode & 0o777).toBe(0o600);
    await listeners.close();

    const live = await startFleetListeners({ app, config: { socketPath: stale, tls: null }, logger: silentLogger });
    await expect(startFleetListeners({ app, config: { socketPath: stale, tls: null }, logger: silentLogger })).rejects.toThrow(`fleet socket ${stale} is in use by another server`);
    await live.close();

    const regular = join(workDir, 'regular-file');
    writeFileSync(regular, 'not a socket');
    await expect(startFleetListeners({ app, config: { socketPath: regular, tls: null }, logger: silentLogger })).rejects.toThrow(`fleet socket ${regular} exists and is not a socket; refusing to replace it`);
    expect(readFileSync(regular, 'utf8')).toBe('not a socket');
  });
});

describe('containers of /v1/container/ are units too', () => {
  const createContainer = async (): Promise<string> => {
    const res = await http().post('/v1/container/').set('Authorization', `JWT ${alice}`).send({ script: b64('#!/bin/sh\nsleep 1000\n'), permanent: true }).expect(201);
    return res.body.id as string;
  };

  test('a container appears as <id>.service with its state', async () => {
    const id = await createContainer();
    const name = `${id}.service`;
    const unit = (await get(`/units/${name}`).expect(200)).body;
    expect(unit).toMatchObject({ name, desiredState: 'launched' });
    const execStart = unit.options.find((o: UnitOption) => o.name === 'ExecStart').value as string;
    expect(execStart).toContain(`--name boatload-${id}`);
    await eventually(async () => ((await get(`/state/${name}`)).body.systemdSubState === 'running' ? true : undefined), 20000, 'the container to run');
    await http().delete(`/v1/container/${id}/`).set('Authorization', `JWT ${alice}`).expect(204);
    await get(`/units/${name}`).expect(404);
  });

  test('its options cannot be replaced through the unit API; its state can change', async () => {
    const id = await createContainer();
    const name = `${id}.service`;
    const res = await put(name, { options: opts(unitText(`x-${tag}`)) }).expect(409);
    expect(res.body.error.message).toBe(`unit ${name} runs BoatLoad container ${id}; change it through /v1/container/, not its unit file`);
    await put(name, { desiredState: 'loaded' }).expect(204);
    expect((await new Docker().getContainer(`boatload-${id}`).inspect()).State.Running).toBe(false);
    await put(name, { desiredState: 'launched' }).expect(204);
    expect((await new Docker().getContainer(`boatload-${id}`).inspect()).State.Running).toBe(true);
    await del(`/units/${name}`).expect(204);
  });

  test('DELETE of its unit deletes the container record and the engine container', async () => {
    const id = await createContainer();
    await del(`/units/${id}.service`).expect(204);
    await http().get(`/v1/container/${id}/`).set('Authorization', `JWT ${alice}`).expect(404);
    expect((await http().get('/v1/container/').set('Authorization', `JWT ${alice}`).expect(200)).body.find((c: { id: string }) => c.id === id)).toBeUndefined();
    await expect(new Docker().getContainer(`boatload-${id}`).inspect()).rejects.toThrow();
  });
});

describe('HTTPS with client certificates', () => {
  const pki = join(workDir, 'pki');
  const file = (name: string): string => join(pki, name);
  let tls: TestSystem;

  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };

  beforeAll(async () => {
    execFileSync('mkdir', ['-p', pki]);
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=boatload-test-ca', '-keyout', file('ca.key'), '-out', file('ca.crt'));
    for (const [name, ext] of [['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
      writeFileSync(file(`${name}.ext`), `${ext}\n`);
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`));
    }
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=stranger', '-keyout', file('stranger.key'), '-out', file('stranger.crt'));
    tls = await startSystem({
      BOATLOAD_FLEET_TLS_PORT: '0',
      BOATLOAD_FLEET_TLS_CERT: file('server.crt'),
      BOATLOAD_FLEET_TLS_KEY: file('server.key'),
      BOATLOAD_FLEET_TLS_CA: file('ca.crt'),
    });
  });

  afterAll(async () => {
    await tls.close();
  });

  test('a client certificate signed by the CA gets the fleet API without other auth', async () => {
    const port = tls.api.fleetTlsAddress()?.port as number;
    const client = tlsTransport({ port, ca: readFileSync(file('ca.crt')), cert: readFileSync(file('client.crt')), key: readFileSync(file('client.key')) });
    const res = await client({ method: 'GET', path: '/fleet/v1/machines?alt=json' });
    expect(res.status).toBe(200);
    expect((res.body as { machines: unknown[] }).machines).toHaveLength(1);
  });

  test('without a client certificate, or with one the CA did not sign, there is no answer', async () => {
    const port = tls.api.fleetTlsAddress()?.port as number;
    const ca = readFileSync(file('ca.crt'));
    await expect(tlsTransport({ port, ca })({ method: 'GET', path: '/fleet/v1/units' })).rejects.toThrow();
    await expect(tlsTransport({ port, ca, cert: readFileSync(file('stranger.crt')), key: readFileSync(file('stranger.key')) })({ method: 'GET', path: '/fleet/v1/units' })).rejects.toThrow();
  });
});

describe('serialization', () => {
  test('units round-trip through the API as fleet serializes them', async () => {
    const name = `z-${tag}.service`;
    const text = unitText(`z-${tag}`, '-e "A=two words" -p 127.0.0.1::80');
    await put(name, { options: opts(text) }).expect(201);
    const unit = (await get(`/units/${name}`).expect(200)).body;
    expect(serializeUnit(unit.options)).toBe(serializeUnit(opts(text)));
    await del(`/units/${name}`).expect(204);
  });
});
