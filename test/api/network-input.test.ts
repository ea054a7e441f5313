/**
 * Bad network input: field errors naming `hostname` and `network` (JSON and multipart), a hostname
 * taken by another of the owner's containers (409; another user may use it), a mode the
 * administrator forbids, and bad settings refused when the configuration loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApiConfig } from '../../api/config';
import { projectRoot } from '../../common/project-root';
import { ConfigError } from '../../common/env';
import { loadSatelliteConfig } from '../../satellite/config';
import { startSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  // Only private and none here; private by default.
  system = await startSystem({ BOATLOAD_NETWORK_MODES: 'private,none', BOATLOAD_NETWORK_DEFAULT: 'private' });
});

afterAll(async () => {
  await system?.close();
});

const post = async (username: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> => {
  const token = await system.token(username);
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send(body);
  return { status: res.status, body: res.body as Record<string, unknown> };
};

test('a hostname that is not a DNS label and an unknown mode are 400s naming the field', async () => {
  const bad = await post('carol', { hostname: 'Not_A_Label' });
  expect(bad.status).toBe(400);
  expect(Object.keys(bad.body)).toEqual(['hostname']);
  const unknown = await post('carol', { network: 'host' });
  expect(unknown.status).toBe(400);
  expect(unknown.body).toEqual({ network: ['Must be one of none, private, internet.'] });
  const token = await system.token('carol');
  const multipart = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).field('hostname', '-x').field('container_args', 'true');
  expect(multipart.status).toBe(400);
  expect(Object.keys(multipart.body as object)).toEqual(['hostname']);
});

test('a mode the administrator forbids is a 400 naming network; the default applies', async () => {
  const forbidden = await post('carol', { network: 'internet' });
  expect(forbidden.status).toBe(400);
  expect(forbidden.body).toEqual({ network: ['The network mode "internet" is not allowed here; allowed: private, none.'] });
  const created = await post('carol', { container_args: ['true'] });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ network: 'private', hostname: null });
});

test('a hostname is unique among the owner\'s containers, not across users', async () => {
  const first = await post('dave', { container_args: ['sleep', '60'], hostname: 'db' });
  expect(first.status).toBe(201);
  const again = await post('dave', { container_args: ['sleep', '60'], hostname: 'db' });
  expect(again.status).toBe(409);
  expect(again.body).toEqual({ detail: 'You already have a container with the hostname "db".' });
  const token = await system.token('dave');
  const multipart = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).field('hostname', 'db').field('container_args', 'true');
  expect(multipart.status).toBe(409);
  const other = await post('erin', { container_args: ['sleep', '60'], hostname: 'db' });
  expect(other.status).toBe(201);
  // Free again once its container is deleted.
  await system.http().delete(`/v1/container/${first.body.id as string}/`).set('Authorization', `JWT ${token}`).expect(204);
  expect((await post('dave', { container_args: ['true'], hostname: 'db' })).status).toBe(201);
});

test('bad network settings stop the configuration, naming the variable', () => {
  const satellite = (env: Record<string, string>): unknown => loadSatelliteConfig({ SATELLITE_SECRET: 'x'.repeat(32), ...env });
  for (const value of ['10.0.0.0/33', 'not-a-cidr', '10.0.0.0', 'fd00::/8', '169.254.0.0/16', '10.0.0.0/8,,x']) {
    expect(() => satellite({ BOATLOAD_EGRESS_ALLOW: value })).toThrow(ConfigError);
    expect(() => satellite({ BOATLOAD_EGRESS_ALLOW: value })).toThrow(/BOATLOAD_EGRESS_ALLOW/);
  }
  expect(satellite({ BOATLOAD_EGRESS_ALLOW: '10.1.2.3/16, 192.168.5.0/24' })).toMatchObject({ firewall: { prefix: 'BOATLOAD', egressAllow: ['10.1.0.0/16', '192.168.5.0/24'] } });
  expect(satellite({ SATELLITE_FIREWALL: 'off' })).toMatchObject({ firewall: null });
  // The fixed published ports a Swarm node's rules let containers reach (satellite/swarm-gateway.ts).
  expect(satellite({ BOATLOAD_HOST_PORTS: '20000-20999,8080' })).toMatchObject({ firewall: { hostPorts: [{ first: 20000, last: 20999 }, { first: 8080, last: 8080 }] } });
  for (const value of ['0', '70000', '20-10', 'x']) expect(() => satellite({ BOATLOAD_HOST_PORTS: value })).toThrow(/BOATLOAD_HOST_PORTS/);
  expect(() => satellite({ SATELLITE_FIREWALL_CHAIN: 'bad chain' })).toThrow(/SATELLITE_FIREWALL_CHAIN/);
  expect(() => satellite({ SATELLITE_FIREWALL: 'maybe' })).toThrow(/SATELLITE_FIREWALL/);
  const api = (env: Record<string, string>): unknown => loadApiConfig({ BOATLOAD_DATA_DIR: system.dataDir, SATELLITE_SECRET: 'x'.repeat(32), BOATLOAD_FLEET_SOCKET: 'off', ...env });
  expect(() => api({ BOATLOAD_NETWORK_DEFAULT: 'host' })).toThrow(/BOATLOAD_NETWORK_DEFAULT/);
  expect(() => api({ BOATLOAD_NETWORK_MODES: 'private,bridge' })).toThrow(/BOATLOAD_NETWORK_MODES/);
  expect(() => api({ BOATLOAD_NETWORK_MODES: 'private' })).toThrow(/BOATLOAD_NETWORK_DEFAULT "internet" is not among BOATLOAD_NETWORK_MODES/);
});

test('a satellite that cannot manage the packet filter refuses to start (the real process, without CAP_NET_ADMIN)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'npt-caps-'));
  try {
    // setpriv drops the capability from the process and everything it runs (iptables included).
    const run = spawnSync('setpriv', ['--inh-caps=-net_admin', '--bounding-set=-net_admin', process.execPath, join(projectRoot(), 'dist', 'satellite', 'main.js')], {
      env: { ...process.env, BOATLOAD_DATA_DIR: dataDir, SATELLITE_PORT: '0', SATELLITE_FIREWALL_CHAIN: 'BLTNOCAPS' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('the network policy cannot be enforced');
    expect(run.stderr).toContain('CAP_NET_ADMIN');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
