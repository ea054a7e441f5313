/** scripturl and dataurl: downloads into the container, and archives that try to escape datapath. */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { makeTar, makeTarGz, makeZip, makeZipWithRawName } from '../support/archives';
import { serveFiles, type FileServer } from '../support/file-server';
import { eventually, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let token: string;
let files: FileServer;
const BOMB_BYTES = 48 * 1024 * 1024;

beforeAll(async () => {
  // The test file server is on loopback, which downloads refuse unless allowed.
  system = await startSystem({ BOATLOAD_DOWNLOAD_ALLOW: '127.0.0.0/8' });
  token = await system.token('carol');
  files = await serveFiles({
    '/job.sh': '#!/bin/sh\necho "from url"; ls -R /data | sort\n',
    '/not-a-script': 'echo no shebang\n',
    '/good.tar.gz': await makeTarGz([{ name: 'dir/', type: 'directory' }, { name: 'dir/a.txt', body: 'A' }, { name: './b.txt', body: 'B' }]),
    '/good.tar': await makeTar([{ name: 'plain.txt', body: 'P' }]),
    '/good.zip': await makeZip([{ name: 'z/one.txt', body: '1' }, { name: 'two.txt', body: '2' }]),
    '/notes.txt': 'just a file',
    '/slip.tar.gz': await makeTarGz([{ name: '../../etc/evil', body: 'x' }]),
    '/abs.tar': await makeTar([{ name: '/etc/evil', body: 'x' }]),
    '/symlink.tar': await makeTar([{ name: 'escape', type: 'symlink', linkname: '../../../etc/passwd' }]),
    '/abs-symlink.tar': await makeTar([{ name: 'escape', type: 'symlink', linkname: '/etc/passwd' }]),
    '/hardlink.tar': await makeTar([{ name: 'hard', type: 'link', linkname: '../../etc/passwd' }]),
    // Links resolve in the tree being built: each of these links looks inside datapath on its own
    // (a lexical check passes them), but through the links before it the path leads out.
    '/link-chain.tar': await makeTar([{ name: 'a', type: 'symlink', linkname: '.' }, { name: 'x', type: 'symlink', linkname: 'a/..' }, { name: 'x/escaped.txt', body: 'out' }]),
    '/link-write-through.tar': await makeTar([
      { name: 'x', type: 'symlink', linkname: 'sub/..' },
      { name: 'sub', type: 'symlink', linkname: '.' },
      { name: 'x/escaped.txt', body: 'out' },
    ]),
    '/hardlink-through-link.tar': await makeTar([
      { name: 'x', type: 'symlink', linkname: 'q/..' },
      { name: 'q', type: 'symlink', linkname: '.' },
      { name: 'passwd', type: 'link', linkname: 'x/etc/passwd' },
    ]),
    '/hardlink-to-symlink.tar': await makeTar([{ name: 'd/', type: 'directory' }, { name: 'd/s', type: 'symlink', linkname: '../escaped' }, { name: 'h', type: 'link', linkname: 'd/s' }]),
    '/link-inside.tar': await makeTar([{ name: 'sub/', type: 'directory' }, { name: 's', type: 'symlink', linkname: 'sub' }, { name: 's/through-link.txt', body: 'in' }]),
    '/slip.zip': await makeZipWithRawName('aa/evil.txt', '../evil.txt', 'x'),
    '/garbage.tar.gz': Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8]),
    // Bombs: 48 MiB of one repeated byte (under the test satellite's 64 MiB size limit, so only the
    // ratio can refuse them), about 1000:1 compressed.
    '/bomb.zip': await makeZip([{ name: 'zeros.bin', body: '0'.repeat(BOMB_BYTES) }]),
    '/bomb.tar.gz': await makeTarGz([{ name: 'zeros.bin', body: '0'.repeat(BOMB_BYTES) }]),
    // A tiny tar whose gzip stream goes on with zeros after the tar's end: no entry announces them.
    '/trailing-bomb.tar.gz': gzipSync(Buffer.concat([await makeTar([{ name: 'small.txt', body: 's' }]), Buffer.alloc(BOMB_BYTES)])),
    // Compressible well above the 1 MiB grace, but at a ratio real data has (base64 text, ~1.3:1).
    '/big-text.zip': await makeZip([{ name: 'big.txt', body: randomBytes(3 * 1024 * 1024).toString('base64') }]),
    '/redirect-to-metadata': '',
  });
});

afterAll(async () => {
  await files.close();
  await system.close();
});

async function run(body: Record<string, unknown>): Promise<string> {
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send(body);
  expect(res.status).toBe(201);
  const id = res.body.id as string;
  await eventually(async () => {
    const state = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${token}`);
    return state.body.status === 'exited' ? true : undefined;
  });
  return (await system.http().get(`/v1/container/${id}/stdout`).set('Authorization', `JWT ${token}`).expect(200)).text;
}

test('scripturl is fetched and run; the data of a tar.gz lands under datapath', async () => {
  const output = await run({ scripturl: files.url('/job.sh'), dataurl: files.url('/good.tar.gz'), datapath: '/data' });
  expect(output).toContain('from url');
  expect(output).toContain('a.txt');
  expect(output).toContain('b.txt');
});

test.each([
  ['a tar', '/good.tar', 'plain.txt'],
  ['a zip', '/good.zip', 'one.txt'],
  ['a plain file, named after the URL', '/notes.txt', 'notes.txt'],
  ['a 4 MiB zip of text (ratio ~1.3)', '/big-text.zip', 'big.txt'],
  ['a tar with a file written through a link that stays inside', '/link-inside.tar', 'through-link.txt'],
])('%s is placed under datapath', async (_name, path, expected) => {
  const output = await run({ scripturl: files.url('/job.sh'), dataurl: files.url(path), datapath: '/data' });
  expect(output).toContain(expected);
});

test.each([
  ['a tar.gz with ../ entries', '/slip.tar.gz', /escapes datapath/],
  ['a tar with an absolute entry', '/abs.tar', /absolute path/],
  ['a symlink pointing out', '/symlink.tar', /outside datapath/],
  ['an absolute symlink', '/abs-symlink.tar', /absolute path/],
  ['a hard link pointing out', '/hardlink.tar', /outside datapath/],
  ['a link chain (a -> ., x -> a/.., x/escaped.txt)', '/link-chain.tar', /archive link "x" leads outside datapath/],
  ['a file written through links that each looked inside when unpacked', '/link-write-through.tar', /archive entry "x\/escaped.txt" leads outside datapath/],
  ['a hard link to a path through a link that leads out', '/hardlink-through-link.tar', /archive link "passwd" leads outside datapath/],
  ['a hard link to a symlink that points out from the hard link\'s place', '/hardlink-to-symlink.tar', /archive link "h" leads outside datapath/],
  ['a zip with ../ entries (zip-slip)', '/slip.zip', /escapes datapath|invalid relative path|not a valid zip/],
  ['a corrupt archive', '/garbage.tar.gz', /not a valid tar archive/],
  ['a URL that answers 404', '/missing', /HTTP 404/],
  ['a zip bomb (48 MiB of one byte, ~1000:1)', '/bomb.zip', /unpacks to more than 100 times its size .*compression bomb/],
  ['a tar.gz bomb (48 MiB of one byte, ~1000:1)', '/bomb.tar.gz', /unpacks to more than 100 times its size .*compression bomb/],
  ['a tar.gz with 48 MiB of zeros after the tar', '/trailing-bomb.tar.gz', /unpacks to more than 100 times its size .*compression bomb/],
])('%s is refused with a 400 and nothing is left in the engine', async (_name, path, message) => {
  const docker = new Docker();
  const ours = { all: true, filters: { label: [`boatload.instance=${system.api.instanceId}`] } };
  const before = (await docker.listContainers(ours)).length;
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ script: Buffer.from('#!/bin/sh\n').toString('base64'), dataurl: files.url(path), datapath: '/data' });
  expect(res.status).toBe(400);
  expect(res.body.dataurl[0]).toMatch(message);
  expect((await docker.listContainers(ours)).length).toBe(before);
  const list = await system.http().get('/v1/container/').set('Authorization', `JWT ${token}`).expect(200);
  expect(list.body.every((c: { status: string }) => c.status !== 'creating')).toBe(true);
});

test('a scripturl whose content is not executable is a 400', async () => {
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ scripturl: files.url('/not-a-script') });
  expect(res.status).toBe(400);
  expect(res.body.scripturl[0]).toMatch(/#!/);
});

test('a scripturl nobody answers is a 400 naming the field', async () => {
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ scripturl: 'http://127.0.0.1:1/nothing' });
  expect(res.status).toBe(400);
  expect(res.body.scripturl[0]).toMatch(/Could not download/);
});

describe('server-side downloads refuse internal addresses by default (SSRF)', () => {
  let strict: TestSystem;
  let strictToken: string;
  let redirector: import('node:http').Server;
  let redirectUrl: string;

  beforeAll(async () => {
    strict = await startSystem();
    strictToken = await strict.token('mallory');
    const http = await import('node:http');
    redirector = http.createServer((_req, res) => res.writeHead(302, { Location: 'http://169.254.169.254/latest/meta-data/' }).end());
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    redirectUrl = `http://127.0.0.1:${(redirector.address() as import('node:net').AddressInfo).port}/`;
  });

  afterAll(async () => {
    redirector.close();
    await strict.close();
  });

  test.each([
    ['scripturl to loopback', () => ({ scripturl: files.url('/job.sh') }), 'scripturl', /loopback/],
    ['scripturl by a name that resolves to loopback', () => ({ scripturl: files.url('/job.sh').replace('127.0.0.1', 'localhost') }), 'scripturl', /non-public address/],
    ['scripturl to cloud metadata', () => ({ scripturl: 'http://169.254.169.254/latest/user-data' }), 'scripturl', /linkLocal/],
    ['scripturl to a private range', () => ({ scripturl: 'http://10.0.0.1/x' }), 'scripturl', /private/],
    ['dataurl to loopback', () => ({ script: Buffer.from('#!/bin/sh\n').toString('base64'), dataurl: files.url('/good.tar'), datapath: '/data' }), 'dataurl', /loopback/],
  ])('%s is a 400', async (_name, body, field, reason) => {
    const res = await strict.http().post('/v1/container/').set('Authorization', `JWT ${strictToken}`).send(body());
    expect(res.status).toBe(400);
    expect(res.body[field][0]).toMatch(reason);
  });

  test('a redirect into the metadata range is refused at the hop', async () => {
    const allowed = await startSystem({ BOATLOAD_DOWNLOAD_ALLOW: '127.0.0.0/8' });
    try {
      const t = await allowed.token('admin');
      const res = await allowed.http().post('/v1/container/').set('Authorization', `JWT ${t}`).send({ scripturl: redirectUrl });
      expect(res.status).toBe(400);
      expect(res.body.scripturl[0]).toMatch(/169\.254\.169\.254 is a linkLocal address/);
    } finally {
      await allowed.close();
    }
  });
});
