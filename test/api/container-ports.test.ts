/**
 * Ports, links and templated env on a real engine with real traffic: a busybox web server reached
 * from this process at the published address the API reports, a linked container that sees the
 * docker-link variables and reaches the server by the link's name, templates resolved, refusals
 * (400/404/409), fixed host ports inside the administrator's range only, nothing published left
 * after a failed create or a delete, and a unit's `-p` reported by the fleet API.
 */
import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import { serveFiles, type FileServer } from '../support/file-server';
import { b64, eventually, startSystem, type TestSystem } from '../support/system';
import { userNetworkName, userNetworkNames } from '../../common/network-model';
import { UNITS_NETWORK_OWNER } from '../../api/containers/workloads';
import { execIn } from '../support/container-exec';

// Ports of this file only (other files use other ranges); tests run one file at a time per system.
// Below the kernel's ephemeral range (32768-60999): a client socket given one of these as its local
// port would make the port look taken to the engine and to portFree.
const FIXED = [31311, 31312, 31313];
const RANGE = `${FIXED[0]}-${FIXED[2]}`;
const tag = randomBytes(3).toString('hex');
// The packet filter on, with chains of this file's own (units are under it too).
const prefix = `BLCP${tag.toUpperCase()}`;

let system: TestSystem;
let files: FileServer;
let alice: string;
let bob: string;
const docker = new Docker();

beforeAll(async () => {
  system = await startSystem({ BOATLOAD_HOST_PORTS: RANGE, BOATLOAD_DOWNLOAD_ALLOW: '127.0.0.0/8' }, { firewall: { prefix } });
  files = await serveFiles({});
  alice = await system.token('alice');
  bob = await system.token('bob');
});

afterAll(async () => {
  await system.close();
  await files.close();
});

const WEB_SCRIPT = ['#!/bin/sh', 'mkdir -p /www', 'echo "hello from the web container" > /www/index.html', 'exec httpd -f -p 80 -h /www', ''].join('\n');

interface PortView {
  port: number;
  protocol: string;
  host_ip: string | null;
  host_port: number | null;
}

const auth = (token: string) => ({ Authorization: `JWT ${token}` });

async function create(token: string, body: Record<string, unknown>) {
  return system.http().post('/v1/container/').set(auth(token)).send(body);
}

/** The container's state once it runs and every asked-for port is published. */
async function published(token: string, id: string): Promise<{ ports: PortView[]; node: string }> {
  return eventually(async () => {
    const res = await system.http().get(`/v1/container/${id}/state`).set(auth(token));
    const ports = res.body.ports as PortView[];
    return res.body.status === 'running' && ports.length > 0 && ports.every((p) => p.host_port !== null) ? { ports, node: res.body.node as string } : undefined;
  }, 20000, `container ${id} to publish its ports`);
}

/** GET http://ip:port/ from this process (not from a container): the published address works. */
function fetchText(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: ip, port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Whether this host can bind the TCP port (nothing, the engine's proxy included, holds it). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

async function stdout(token: string, id: string): Promise<string> {
  await eventually(async () => {
    const res = await system.http().get(`/v1/container/${id}/state`).set(auth(token));
    return ['exited', 'error'].includes(res.body.status) ? true : undefined;
  }, 30000, `container ${id} to finish`);
  const res = await system.http().get(`/v1/container/${id}/stdout`).set(auth(token)).buffer(true).parse((r, cb) => {
    let text = '';
    r.on('data', (c: Buffer) => (text += c.toString()));
    r.on('end', () => cb(null, text));
  });
  return res.body as string;
}

describe('a web server in a container, reached by its published port', () => {
  let web: string;
  let ports: PortView[];

  beforeAll(async () => {
    const res = await create(alice, { script: b64(WEB_SCRIPT), ports: ['80', { port: 5353, protocol: 'udp' }] });
    expect(res.status).toBe(201);
    web = res.body.id;
    // Asked for, not yet published: null until the engine chose the host ports.
    expect(res.body.ports).toEqual([
      { port: 80, protocol: 'tcp', host_ip: null, host_port: null },
      { port: 5353, protocol: 'udp', host_ip: null, host_port: null },
    ]);
    ({ ports } = await published(alice, web));
  });

  test('state shows each port at the machine address and the host port the engine chose', async () => {
    const [engine] = await docker.listContainers({ filters: { label: [`boatload.id=${web}`] } });
    const chosen = (port: number, type: string) => engine.Ports.find((p) => p.PrivatePort === port && p.Type === type && p.PublicPort)?.PublicPort;
    expect(ports).toEqual([
      { port: 80, protocol: 'tcp', host_ip: expect.any(String), host_port: chosen(80, 'tcp') },
      { port: 5353, protocol: 'udp', host_ip: expect.any(String), host_port: chosen(5353, 'udp') },
    ]);
    // The machine's advertised address, as the fleet API lists the machine.
    const admin = await system.token('admin');
    const machines = (await system.http().get('/fleet/v1/machines').set(auth(admin)).expect(200)).body.machines as Array<{ primaryIP: string }>;
    expect(ports[0].host_ip).toBe(machines[0].primaryIP);
  });

  test('the page is served at host_ip:host_port', async () => {
    expect(await fetchText(ports[0].host_ip as string, ports[0].host_port as number)).toBe('hello from the web container\n');
  });

  test('info and the listing show the same ports', async () => {
    const info = await system.http().get(`/v1/container/${web}`).set(auth(alice)).expect(200);
    expect(info.body.ports).toEqual(ports);
    const listing = await system.http().get('/v1/container/').set(auth(alice)).expect(200);
    expect(listing.body.find((c: { id: string }) => c.id === web).ports).toEqual(ports);
  });

  describe('a linked container with templated env', () => {
    let client: string;
    let output: string;

    beforeAll(async () => {
      const script = [
        '#!/bin/sh',
        'env | grep -E "^(WEB_|URL=|P80=|LIT=|IP=)" | sort',
        // The link name resolves (in /etc/hosts) and reaches the server at the linked port.
        'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 web "$WEB_PORT_80_TCP_PORT" | tail -1',
        '',
      ].join('\n');
      const res = await create(alice, {
        script: b64(script),
        links: { web },
        env: { URL: `http://#${web}.ip:#${web}.port/`, P80: `#${web}.port.80`, IP: `#${web}.ip`, LIT: 'issue ##13, not #13' },
      });
      expect(res.status).toBe(201);
      client = res.body.id;
      // The request's env is kept as written (its templates), the links as given.
      expect(res.body.env.URL).toBe(`http://#${web}.ip:#${web}.port/`);
      expect(res.body.links).toEqual({ web });
      output = await stdout(alice, client);
    });

    test('docker-link variables carry the reachable address of each port', () => {
      const [http, dns] = ports as Array<{ host_ip: string; host_port: number }>;
      for (const line of [
        `WEB_PORT=tcp://${http.host_ip}:${http.host_port}`,
        `WEB_PORT_80_TCP=tcp://${http.host_ip}:${http.host_port}`,
        `WEB_PORT_80_TCP_ADDR=${http.host_ip}`,
        `WEB_PORT_80_TCP_PORT=${http.host_port}`,
        'WEB_PORT_80_TCP_PROTO=tcp',
        `WEB_PORT_5353_UDP_PORT=${dns.host_port}`,
        'WEB_PORT_5353_UDP_PROTO=udp',
        `WEB_NAME=/boatload-${client}/web`,
      ]) {
        expect(output.split('\n')).toContain(line);
      }
    });

    test('templates are resolved, ## is a literal #', () => {
      const [http] = ports as Array<{ host_ip: string; host_port: number }>;
      expect(output.split('\n')).toEqual(expect.arrayContaining([`URL=http://${http.host_ip}:${http.host_port}/`, `P80=${http.host_port}`, `IP=${http.host_ip}`, 'LIT=issue #13, not #13']));
    });

    test('the link name resolves inside the container and reaches the server', () => {
      expect(output).toContain('hello from the web container');
    });
  });

  describe('references that do not resolve', () => {
    test('an unknown (deleted) container: 400 naming the link or the variable', async () => {
      const gone = '0'.repeat(32);
      const link = await create(alice, { script: b64('#!/bin/sh\n'), links: { db: gone } });
      expect(link.status).toBe(400);
      expect(link.body.links[0]).toMatch(/^db: there is no container/);
      const env = await create(alice, { script: b64('#!/bin/sh\n'), env: { DB: `#${gone}.port` } });
      expect(env.status).toBe(400);
      expect(env.body.env[0]).toMatch(/^DB: /);
    });

    test("someone else's container: 404, as everywhere", async () => {
      expect((await create(bob, { script: b64('#!/bin/sh\n'), links: { web } })).status).toBe(404);
      expect((await create(bob, { script: b64('#!/bin/sh\n'), env: { X: `#${web}.port` } })).status).toBe(404);
    });

    test('a port the target does not expose: 400 naming the variable', async () => {
      const res = await create(alice, { script: b64('#!/bin/sh\n'), env: { X: `#${web}.port.81` } });
      expect(res.status).toBe(400);
      expect(res.body.env[0]).toMatch(/^X: .*does not expose port 81/);
    });

    test('nothing is left of the refused creates', async () => {
      const listing = await system.http().get('/v1/container/').set(auth(bob)).expect(200);
      expect(listing.body).toEqual([]);
    });
  });
});

describe('the record follows the engine', () => {
  test('a permanent container stopped and started behind the API, then restarted through it: its ports follow', async () => {
    const res = await create(alice, { script: b64(WEB_SCRIPT), permanent: true, ports: ['80'] });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await published(alice, id);
    const engine = docker.getContainer(`boatload-${id}`);
    const enginePort = async (): Promise<number | null> => {
      const bindings = (await engine.inspect()).NetworkSettings.Ports['80/tcp'] as Array<{ HostPort: string }> | null | undefined;
      return bindings && bindings.length > 0 ? Number(bindings[0].HostPort) : null;
    };
    const listed = async (): Promise<PortView> => {
      const listing = await system.http().get('/v1/container/').set(auth(alice)).expect(200);
      return listing.body.find((c: { id: string }) => c.id === id).ports[0];
    };

    // Stopped: nothing is published; the listing (the state sync, no engine read) says so.
    await engine.stop({ t: 1 });
    await eventually(async () => ((await listed()).host_port === null ? true : undefined), 10000, 'the listing to drop the port');

    // Started again: the engine publishes a port again, and the listing follows.
    await engine.start();
    const again = await eventually(async () => (await enginePort()) ?? undefined, 10000, 'the engine to publish again');
    await eventually(async () => ((await listed()).host_port === again ? true : undefined), 10000, 'the listing to show the new port');
    expect(await fetchText((await listed()).host_ip as string, again)).toBe('hello from the web container\n');

    // Restarted through the API (the scheduler): state shows what the engine published.
    await system.http().post(`/v1/container/${id}/restart`).set(auth(alice)).expect(202);
    await eventually(async () => {
      const state = await system.http().get(`/v1/container/${id}/state`).set(auth(alice));
      const now = await enginePort();
      return state.body.status === 'running' && now !== null && state.body.ports[0].host_port === now ? true : undefined;
    }, 20000, 'state to show the port after the restart');
    await system.http().delete(`/v1/container/${id}/`).set(auth(alice)).expect(204);
  });
});

describe('templates follow a target that moved', () => {
  test("a permanent container restarted after its target's port changed gets the new port", async () => {
    const web = (await create(alice, { script: b64(WEB_SCRIPT), permanent: true, ports: ['80'] })).body.id as string;
    const before = (await published(alice, web)).ports[0].host_port;
    const client = await create(alice, { script: b64('#!/bin/sh\nexec sleep 300\n'), permanent: true, links: { web }, env: { P: `#${web}.port` } });
    expect(client.status).toBe(201);
    const engineEnv = async (): Promise<string[]> => (await docker.getContainer(`boatload-${client.body.id}`).inspect()).Config.Env;
    expect(await engineEnv()).toEqual(expect.arrayContaining([`P=${before}`, `WEB_PORT_80_TCP_PORT=${before}`]));

    // The target is stopped and started behind the API: the engine gives it another host port
    // (its allocator moves on), and the state sync records it.
    const target = docker.getContainer(`boatload-${web}`);
    await target.stop({ t: 1 });
    await target.start();
    const after = await eventually(async () => {
      const listing = await system.http().get('/v1/container/').set(auth(alice)).expect(200);
      const port = listing.body.find((c: { id: string }) => c.id === web).ports[0] as PortView;
      return port.host_port !== null ? port.host_port : undefined;
    }, 10000, 'the new port to be recorded');
    const published80 = ((await target.inspect()).NetworkSettings.Ports['80/tcp'] as Array<{ HostPort: string }>)[0].HostPort;
    expect(String(after)).toBe(published80);

    // Restarted through the API: built again with the values resolved now.
    await system.http().post(`/v1/container/${client.body.id}/restart`).set(auth(alice)).expect(202);
    await eventually(async () => ((await engineEnv().catch((): string[] => [])).includes(`P=${after}`) ? true : undefined), 20000, 'the client to get the new port');
    expect(await engineEnv()).toEqual(expect.arrayContaining([`P=${after}`, `WEB_PORT_80_TCP_PORT=${after}`]));
  });
});

describe('fixed host ports', () => {
  test('inside the range: published there and served', async () => {
    const res = await create(alice, { script: b64(WEB_SCRIPT), ports: [{ port: 80, host_port: FIXED[0] }] });
    expect(res.status).toBe(201);
    const { ports } = await published(alice, res.body.id);
    expect(ports).toEqual([{ port: 80, protocol: 'tcp', host_ip: expect.any(String), host_port: FIXED[0] }]);
    expect(await fetchText('127.0.0.1', FIXED[0])).toBe('hello from the web container\n');

    // Taken by that container until it is deleted: 409.
    const again = await create(bob, { script: b64(WEB_SCRIPT), ports: [{ port: 8080, host_port: FIXED[0] }] });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/host port 31311\/tcp is taken/);

    // A delete leaves nothing published: the port is free again.
    await system.http().delete(`/v1/container/${res.body.id}/`).set(auth(alice)).expect(204);
    expect(await portFree(FIXED[0])).toBe(true);
  });

  test('outside the range: 400 naming ports and the setting', async () => {
    const res = await create(alice, { script: b64(WEB_SCRIPT), ports: [{ port: 80, host_port: 8080 }] });
    expect(res.status).toBe(400);
    expect(res.body.ports[0]).toMatch(/outside the administrator's range \(BOATLOAD_HOST_PORTS: 31311-31313\)/);
  });

  test('a create that fails at the engine leaves no published port, no container and no record', async () => {
    const before = await system.http().get('/v1/container/').set(auth(alice)).expect(200);
    // Refused by the engine's create (no such image), and after the engine made the container (the data download fails: it is removed).
    const noImage = await create(alice, { image_name: `no-such-image-${tag}`, ports: [{ port: 80, host_port: FIXED[1] }] });
    expect(noImage.status).toBe(400);
    const badData = await create(alice, { script: b64(WEB_SCRIPT), dataurl: files.url('/missing'), datapath: '/data', ports: [{ port: 80, host_port: FIXED[1] }] });
    expect(badData.status).toBe(400);
    expect(badData.body.dataurl[0]).toMatch(/HTTP 404/);
    expect(await portFree(FIXED[1])).toBe(true);
    const engine = await docker.listContainers({ all: true, filters: { label: [`boatload.instance=${system.api.instanceId}`, 'boatload.owner=alice'] } });
    expect(engine.filter((c) => c.Ports.some((p) => p.PrivatePort === 80))).toHaveLength(before.body.filter((c: { ports: PortView[] }) => c.ports.some((p) => p.port === 80)).length);
    const after = await system.http().get('/v1/container/').set(auth(alice)).expect(200);
    expect(after.body.map((c: { id: string }) => c.id)).toEqual(before.body.map((c: { id: string }) => c.id));
    // Nothing in the store holds it either: the same fixed port can be asked for again.
    const retry = await create(alice, { script: b64('#!/bin/sh\nsleep 1\n'), ports: [{ port: 80, host_port: FIXED[1] }] });
    expect(retry.status).toBe(201);
    await system.http().delete(`/v1/container/${retry.body.id}/`).set(auth(alice)).expect(204);
  });

  test('multipart takes ports and links as JSON fields', async () => {
    const res = await system.http().post('/v1/container/').set(auth(alice))
      .field('ports', JSON.stringify(['8080', '53/udp']))
      .attach('script', Buffer.from('#!/bin/sh\nsleep 30\n'), 'script');
    expect(res.status).toBe(201);
    expect(res.body.ports.map((p: PortView) => `${p.port}/${p.protocol}`)).toEqual(['8080/tcp', '53/udp']);
    const bad = await system.http().post('/v1/container/').set(auth(alice)).field('ports', '[8080').attach('script', Buffer.from('#!/bin/sh\n'), 'script');
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body)).toEqual(['ports']);
    await system.http().delete(`/v1/container/${res.body.id}/`).set(auth(alice)).expect(204);
  });
});

describe('a unit with -p', () => {
  const name = `ports-${tag}.service`;
  let admin: string;

  beforeAll(async () => {
    admin = await system.token('admin');
  });

  afterAll(async () => {
    await system.http().delete(`/fleet/v1/units/${name}`).set(auth(admin));
  });

  const unit = (publish: string) => ({
    desiredState: 'launched',
    options: [
      { section: 'Service', name: 'ExecStart', value: `/usr/bin/docker run --name ports-${tag} -p ${publish} boatload/base:latest sh -c "mkdir -p /www && echo unit-web > /www/index.html && exec httpd -f -p 80 -h /www"` },
    ],
  });

  test('a fixed host port outside the range is refused, naming the flag and the setting', async () => {
    const res = await system.http().put(`/fleet/v1/units/${name}`).set(auth(admin)).set('Content-Type', 'application/json').send(JSON.stringify(unit('8081:80')));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/-p 8081:80 .*BOATLOAD_HOST_PORTS/);
  });

  test('its ports show in the unit and its state, and serve', async () => {
    await system.http().put(`/fleet/v1/units/${name}`).set(auth(admin)).set('Content-Type', 'application/json').send(JSON.stringify(unit('80'))).expect(201);
    const ports = await eventually(async () => {
      const res = await system.http().get(`/fleet/v1/units/${name}`).set(auth(admin));
      return res.body.ports as Array<{ port: number; protocol: string; host_ip: string; host_port: number }> | undefined;
    }, 20000, 'the unit to publish its port');
    expect(ports).toEqual([{ port: 80, protocol: 'tcp', host_ip: expect.any(String), host_port: expect.any(Number) }]);
    const states = await system.http().get(`/fleet/v1/state?unitName=${name}`).set(auth(admin)).expect(200);
    expect(states.body.states[0].ports).toEqual(ports);
    expect(await fetchText(ports[0].host_ip, ports[0].host_port)).toBe('unit-web\n');
  });

  test("it is on the units' network under the packet filter: another unit reaches it by name, the host does not answer it", async () => {
    const client = `ports-${tag}-c.service`;
    const clientUnit = { desiredState: 'launched', options: [{ section: 'Service', name: 'ExecStart', value: `/usr/bin/docker run --name ports-${tag}-c boatload/base:latest sleep 1000` }] };
    await system.http().put(`/fleet/v1/units/${client}`).set(auth(admin)).set('Content-Type', 'application/json').send(JSON.stringify(clientUnit)).expect(201);
    // A service on the host's every address, which a container outside BoatLoad reaches (the baseline).
    const hostService = createServer((_, res) => res.end('host-service\n'));
    await new Promise<void>((resolve) => hostService.listen(0, '0.0.0.0', resolve));
    const hostPort = (hostService.address() as { port: number }).port;
    try {
      const [server, peer] = await Promise.all([`ports-${tag}`, `ports-${tag}-c`].map((name) => eventually(async () => {
        const info = await docker.getContainer(name).inspect().catch(() => undefined);
        return info?.State.Running ? info : undefined;
      }, 20000, `${name} to run`)));
      const network = userNetworkName(system.api.instanceId, UNITS_NETWORK_OWNER);
      for (const info of [server, peer]) {
        expect(info.HostConfig.NetworkMode).toBe(network);
        expect(info.Config.Labels['boatload.network']).toBe('internet');
      }
      // The satellite's rules name the units' bridges: nothing to the host from them.
      const names = userNetworkNames(network);
      const rules = execFileSync('iptables', ['-w', '-S', `${prefix}-IN`], { encoding: 'utf8' });
      expect(rules).toContain(`-A ${prefix}-IN -i ${names?.egressBridge} -j DROP`);
      const exec = async (command: string): Promise<string> => (await execIn(docker.getContainer(`ports-${tag}-c`), command)).output;
      // busybox nc, not wget: the static busybox's wget crashes resolving a name.
      const get = (host: string, port: number | string, seconds = 5): string => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w ${seconds} ${host} ${port}`;
      expect(await exec(get(`ports-${tag}`, 80))).toContain('unit-web');
      const gateway = /default via (\S+)/.exec(await exec('ip route'))?.[1];
      expect(gateway).toBeDefined();
      // Dropped: the connect waits out nc's timeout (2 s; the baseline below answers at once).
      expect(await exec(`${get(gateway as string, hostPort, 2)} || echo refused`)).toContain('refused');
      const bridgeGateway = ((await docker.getNetwork('bridge').inspect()) as { IPAM: { Config: Array<{ Gateway: string }> } }).IPAM.Config[0].Gateway;
      const baseline = await docker.createContainer({ name: `ports-${tag}-baseline`, Image: 'boatload/base:latest', Cmd: ['sh', '-c', get(bridgeGateway, hostPort)] });
      try {
        await baseline.start();
        await baseline.wait();
        expect((await baseline.logs({ stdout: true, stderr: true })).toString()).toContain('host-service');
      } finally {
        await baseline.remove({ force: true });
      }
    } finally {
      hostService.close();
      await system.http().delete(`/fleet/v1/units/${client}`).set(auth(admin));
    }
  });
});
