/**
 * The hostile-input corpus for ports, links and env templates (beside hostile-input.test.ts): each
 * malformed create is a 400 naming its field (someone else's container is a 404), in the
 * documented error shape, and nothing is left behind in the engine or the store.
 */
import Docker from 'dockerode';
import { b64, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let attacker: string;
let victimId: string;

beforeAll(async () => {
  system = await startSystem();
  attacker = await system.token('attacker');
  const victim = await system.token('victim');
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${victim}`).send({ script: b64('#!/bin/sh\nsleep 60\n'), ports: ['80'] }).expect(201);
  victimId = res.body.id;
});

afterAll(async () => {
  await system.close();
});

/** Written into a case where the victim's container id goes (known only once it exists). */
const VICTIM = '<victim>';
const GONE = '0'.repeat(32);

interface Case {
  name: string;
  body: Record<string, unknown>;
  /** The field the 400 names; a 404 (someone else's) names none. */
  field: 'ports' | 'links' | 'env' | 404;
}

const cases: Case[] = [];
const port = (value: unknown, name = JSON.stringify(value)): void => void cases.push({ name: `ports ${name.slice(0, 40)}`, body: { ports: value }, field: 'ports' });
for (const value of [0, 65536, -1, 1.5, null, true, [80]]) port([value]);
for (const text of ['0', '65536', '99999', '80/sctp', '80:80', '8080:80/tcp', 'http', ' 80', '80 ', '80/', '/udp', '80-90', '0x50', '８０', '80/TCP', '', '80\n', '80\u0000']) port([text]);
for (const entry of [{ port: 80, protocol: 'icmp' }, { port: '80' }, {}, { port: 80, extra: 1 }, { port: 80, host_port: 0 }, { port: 80, host_port: 70000 }, { port: 80, host_port: 8080 }, { port: 80, host_port: 1 }, { port: 80, host_ip: '0.0.0.0' }]) port([entry]);
port(['80', '80'], 'repeated 80');
port(['80', { port: 80, protocol: 'tcp' }], 'repeated 80 as object');
port(['53/udp', '53/udp'], 'repeated 53/udp');
port('80', 'a string, not a list');
port({ 80: 'tcp' }, 'an object, not a list');
port(Array.from({ length: 65 }, (_, i) => String(1000 + i)), '65 ports');
// The engine publishes nothing on an internal network or none: ports there are refused, not ignored.
for (const network of ['private', 'none']) cases.push({ name: `ports with network ${network}`, body: { ports: ['80'], network }, field: 'ports' });

const link = (value: unknown, name = JSON.stringify(value)): void => void cases.push({ name: `links ${name.slice(0, 40)}`, body: { links: value }, field: 'links' });
for (const alias of ['DB', '', 'a_b', '-a', 'a-', 'a.b', 'x'.repeat(64), 'db\n', 'ünïcode']) link({ [alias]: GONE });
for (const target of [42, null, 'zzz', GONE, 'x'.repeat(300), 'A'.repeat(32), `${GONE}\n`]) link({ db: target });
link([GONE], 'a list');
link('db', 'a string');
link(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, GONE])), '17 links');
cases.push({ name: "links to someone else's container", body: { links: { db: VICTIM } }, field: 404 });

const env = (value: string, field: Case['field'] = 'env'): void => void cases.push({ name: `env template ${value.slice(0, 40)}`, body: { env: { X: value } }, field });
for (const template of [`#${GONE}.port`, `#${GONE}.ip`, `#${GONE}.port.80`, '#zzz.port', '#db.ip', `ok ## then #${GONE}.port`]) env(template);
env(`#${VICTIM}.port`, 404);
env(`#${VICTIM}.ip`, 404);
env(`#${VICTIM}.port.81`, 404);

function isErrorShape(body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  if ('detail' in body) return typeof body.detail === 'string';
  const entries = Object.entries(body as Record<string, unknown>);
  return entries.length > 0 && entries.every(([, v]) => Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === 'string'));
}

const withVictim = (value: unknown): unknown => JSON.parse(JSON.stringify(value).split(VICTIM).join(victimId));

test(`the corpus has at least 60 cases (${cases.length})`, () => {
  expect(cases.length).toBeGreaterThanOrEqual(60);
});

test.each(cases.map((c) => [c.name, c] as const))('%s → refused, naming the field', async (_name, c) => {
  const body = { script: b64('#!/bin/sh\n'), ...(withVictim(c.body) as Record<string, unknown>) };
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${attacker}`).timeout(15000).send(body);
  expect(isErrorShape(res.body)).toBe(true);
  if (c.field === 404) {
    expect(res.status).toBe(404);
  } else {
    expect(res.status).toBe(400);
    expect(Object.keys(res.body)).toEqual([c.field]);
  }
});

test('afterwards nothing of the attacker is left, and the victim is untouched', async () => {
  const mine = await system.http().get('/v1/container/').set('Authorization', `JWT ${attacker}`).expect(200);
  expect(mine.body).toEqual([]);
  const engine = await new Docker().listContainers({ all: true, filters: { label: ['boatload.owner=attacker', `boatload.instance=${system.api.instanceId}`] } });
  expect(engine).toEqual([]);
  const victim = await system.token('victim');
  await system.http().get(`/v1/container/${victimId}`).set('Authorization', `JWT ${victim}`).expect(200);
});
