/**
 * Snapshot images are owned objects: reachable only through `snapshot` (which checks the owner).
 * Every spelling of them through image_name/image_tag is a 404, for their owner and for anyone
 * else, in a single create, a multipart create and a batch; nothing is created.
 */
import Docker from 'dockerode';
import { Agent } from 'node:http';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

let system: SandboxSystem;
let alice: string;
let bob: string;
let snapshot: { id: string; image: string };
let imageHex: string;
const agent = new Agent({ keepAlive: false });
const docker = new Docker({ agent } as Docker.DockerOptions);

beforeAll(async () => {
  system = await startSandboxSystem();
  alice = await system.token('alice');
  bob = await system.token('bob');
  const original = await system.create(alice, { container_args: ['sleep', '600'] }, 'wait=ready');
  const res = await system.http().post(`/v1/container/${original}/snapshot`).set(...system.auth(alice)).send({}).expect(202);
  const done = await system.operation(alice, res.body.operation.id as string, 60000);
  snapshot = (done.result as { snapshot: typeof snapshot }).snapshot;
  imageHex = (await docker.getImage(snapshot.image).inspect()).Id.replace(/^sha256:/, '');
});

afterAll(async () => {
  await system.close();
  agent.destroy();
}, 180000);

/** Every spelling the engine resolves to the snapshot's image (checked below against the engine itself). */
function spellings(): Array<[string, { image_name: string; image_tag: string }]> {
  return [
    ['repository and tag', { image_name: 'boatload/snapshot', image_tag: snapshot.id }],
    ['docker.io/ prefix', { image_name: 'docker.io/boatload/snapshot', image_tag: snapshot.id }],
    ['index.docker.io/ prefix', { image_name: 'index.docker.io/boatload/snapshot', image_tag: snapshot.id }],
    ['image ID', { image_name: 'sha256', image_tag: imageHex }],
    ['short image ID', { image_name: 'sha256', image_tag: imageHex.slice(0, 12) }],
  ];
}

async function snapshotContainers(): Promise<number> {
  const all = await docker.listContainers({ all: true, filters: { label: [`boatload.instance=${system.api.instanceId}`] } });
  return all.filter((c) => c.Image === snapshot.image || c.ImageID === `sha256:${imageHex}`).length;
}

test('each spelling does name the snapshot image on the engine (so refusing it matters)', async () => {
  for (const [, { image_name, image_tag }] of spellings()) {
    expect((await docker.getImage(`${image_name}:${image_tag}`).inspect()).Id).toBe(`sha256:${imageHex}`);
  }
});

test.each([['another user', () => bob], ['the owner', () => alice]])('as %s, every spelling is a 404 and creates nothing', async (_who, token) => {
  const before = await snapshotContainers();
  for (const [what, body] of spellings()) {
    const res = await system.http().post('/v1/container/').set(...system.auth(token())).send(body);
    expect([what, res.status, res.body]).toEqual([what, 404, { detail: 'Not found.' }]);
    const form = await system.http().post('/v1/container/').set(...system.auth(token())).field('image_name', body.image_name).field('image_tag', body.image_tag);
    expect([what, form.status, form.body]).toEqual([what, 404, { detail: 'Not found.' }]);
  }
  // A tag that is no snapshot at all answers the same: the 404 tells nothing about others' snapshots.
  const unknown = await system.http().post('/v1/container/').set(...system.auth(token())).send({ image_name: 'boatload/snapshot', image_tag: 'f'.repeat(32) });
  expect([unknown.status, unknown.body]).toEqual([404, { detail: 'Not found.' }]);
  expect(await snapshotContainers()).toBe(before);
});

test.each([['another user', () => bob], ['the owner', () => alice]])('as %s, every spelling in a batch is a 404 item', async (_who, token) => {
  const before = await snapshotContainers();
  const requests = spellings().map(([, body]) => ({ ...body, container_args: ['sleep', '60'] }));
  const res = await system.http().post('/v1/container/batch').set(...system.auth(token())).send({ requests }).expect(202);
  const done = await system.operation(token(), res.body.operation.id as string, 60000);
  expect(done.result).toEqual({
    created: 0,
    failed: requests.length,
    containers: requests.map((_, index) => ({ index, error: { status: 404, body: { detail: 'Not found.' } } })),
  });
  expect(await snapshotContainers()).toBe(before);
});

test('digest forms and spellings the engine does not resolve are refused before any lookup (400, for anyone)', async () => {
  for (const token of [alice, bob]) {
    for (const body of [
      { image_name: 'boatload/snapshot@sha256', image_tag: imageHex },
      { image_name: `boatload/snapshot@sha256:${imageHex}` },
      { image_name: 'boatload/snapshot', image_tag: `sha256:${imageHex}` },
      { image_name: 'SHA256', image_tag: imageHex },
    ]) {
      const res = await system.http().post('/v1/container/').set(...system.auth(token)).send(body).expect(400);
      expect(res.body.image_name ?? res.body.image_tag).toEqual([expect.stringMatching(/^Enter a valid image (name|tag)/)]);
    }
    // Not normalized by the engine (case-sensitive prefixes): an image that is not present.
    const upper = await system.http().post('/v1/container/').set(...system.auth(token)).send({ image_name: 'Docker.IO/boatload/snapshot', image_tag: snapshot.id }).expect(400);
    expect(upper.body.image_name[0]).toMatch(/not present/);
  }
});

test('the owner still starts it through `snapshot`; another user cannot', async () => {
  const res = await system.http().post('/v1/container/?wait=ready').set(...system.auth(alice)).send({ snapshot: snapshot.id, container_args: ['sleep', '60'] }).expect(201);
  expect(res.body).toMatchObject({ snapshot: snapshot.id, image: snapshot.image });
  await system.http().post('/v1/container/').set(...system.auth(bob)).send({ snapshot: snapshot.id }).expect(400);
});
