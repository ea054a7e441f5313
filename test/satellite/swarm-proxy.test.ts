/**
 * The Swarm manager's API through a satellite (SATELLITE_SWARM_PROXY): the API's in-process proxy
 * signs dockerode's calls, the satellite forwards only the swarm backend's calls to its real engine.
 */
import Docker from 'dockerode';
import { request as httpRequest } from 'node:http';
import { silentLogger } from '../../common/logger';
import { signRequest } from '../../common/signing';
import { SwarmManagerProxy } from '../../api/satellite/swarm-manager-proxy';
import { swarmCallAllowed } from '../../satellite/swarm-proxy';
import { SATELLITE_SECRET, startSatellite, type SatelliteHandle } from '../support/system';

describe('the calls a satellite forwards to its engine', () => {
  test.each([
    ['GET', '/info'],
    ['GET', '/v1.41/services'],
    ['POST', '/v1.41/services/create'],
    ['POST', '/v1.41/services/abc123/update'],
    ['DELETE', '/v1.41/services/boatload-x'],
    ['GET', '/v1.41/tasks'],
    ['GET', '/v1.41/nodes'],
    ['POST', '/v1.41/configs/create'],
    ['DELETE', '/v1.41/configs/cfg1'],
    ['GET', '/v1.41/images/sha256:0123abcd/json'],
    ['GET', '/v1.41/images/boatload/base:latest/json'],
    ['GET', '/v1.41/networks'],
    ['POST', '/v1.41/networks/create'],
    ['DELETE', '/v1.41/networks/boatload-net-0123456789abcdef'],
  ])('%s %s is forwarded', (method, path) => {
    expect(swarmCallAllowed(method, path)).toBe(true);
  });

  test.each([
    ['POST', '/v1.41/containers/create'],
    ['GET', '/v1.41/containers/json'],
    ['POST', '/v1.41/containers/abc/exec'],
    ['POST', '/v1.41/images/create'],
    ['DELETE', '/v1.41/images/boatload/base:latest'],
    ['POST', '/v1.41/swarm/leave'],
    ['POST', '/v1.41/nodes/abc/update'],
    ['GET', '/v1.41/secrets'],
    ['POST', '/v1.41/build'],
    ['GET', '/v1.41/services/../containers/json'],
    ['GET', '/v1.41/services/%2e%2e/containers/json'],
    ['GET', '/v1.41//containers/json'],
    ['PUT', '/v1.41/services'],
    ['GET', '/v1.41/services/a/logs'],
    ['POST', '/v1.41/networks/abc/connect'],
    ['POST', '/v1.41/networks/prune'],
  ])('%s %s is refused', (method, path) => {
    expect(swarmCallAllowed(method, path)).toBe(false);
  });
});

describe('through a real satellite and engine', () => {
  let satellite: SatelliteHandle;
  let proxy: SwarmManagerProxy;
  let docker: Docker;

  beforeAll(async () => {
    satellite = await startSatellite({ swarmProxy: true });
    proxy = new SwarmManagerProxy({ url: satellite.url, secret: SATELLITE_SECRET, timeoutMs: 5000, maxBodyBytes: 1024 * 1024, logger: silentLogger });
    docker = new Docker({ socketPath: proxy.socketPath });
  });

  afterAll(async () => {
    proxy.close();
    await satellite.close();
  });

  test("dockerode on the API's proxy reads the engine's info and its images", async () => {
    const direct = (await new Docker().info()) as { ID: string };
    const proxied = (await docker.info()) as { ID: string };
    expect(proxied.ID).toBe(direct.ID);
    const image = (await docker.getImage('boatload/base:latest').inspect()) as { Id: string };
    expect(image.Id).toMatch(/^sha256:/);
  });

  test('a call the swarm backend does not make is a 403, and the engine does nothing', async () => {
    // Named, so that the check does not depend on what else runs on the engine meanwhile.
    const name = `swarm-proxy-refused-${process.pid}-${Date.now()}`;
    await expect(docker.createContainer({ name, Image: 'boatload/base:latest', Cmd: ['true'], HostConfig: { Binds: ['/:/host'] } })).rejects.toMatchObject({ statusCode: 403 });
    await expect(docker.listContainers()).rejects.toMatchObject({ statusCode: 403 });
    await expect(new Docker().getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  test('unsigned, wrongly signed and traversing requests are refused', async () => {
    expect((await fetch(`${satellite.url}/swarm-api/v1.41/info`)).status).toBe(401);
    const wrong = new SwarmManagerProxy({ url: satellite.url, secret: 'not-the-secret-0123456789abcdef', timeoutMs: 5000, maxBodyBytes: 1024, logger: silentLogger });
    try {
      await expect(new Docker({ socketPath: wrong.socketPath }).info()).rejects.toMatchObject({ statusCode: 401 });
    } finally {
      wrong.close();
    }
    // Sent as raw bytes (fetch would normalize the dots away before signing).
    for (const path of ['/swarm-api/v1.41/services/%2e%2e/containers/json', '/swarm-api/v1.41/services/..%2fcontainers/json', '/swarm-api/v1.41/containers/json']) {
      const status = await new Promise<number>((resolve, reject) => {
        const url = new URL(satellite.url);
        const req = httpRequest({ host: url.hostname, port: url.port, path, headers: signRequest(SATELLITE_SECRET, { method: 'GET', path, body: Buffer.alloc(0) }) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect([path, status]).toEqual([path, 403]);
    }
  });

  test('a satellite without SATELLITE_SWARM_PROXY has no such route', async () => {
    const plain = await startSatellite();
    try {
      const path = '/swarm-api/v1.41/info';
      const res = await fetch(plain.url + path, { headers: signRequest(SATELLITE_SECRET, { method: 'GET', path, body: Buffer.alloc(0) }) });
      expect(res.status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
