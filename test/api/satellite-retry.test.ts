/**
 * A request that dies with ECONNRESET before any answer (a kept-alive socket the satellite closed
 * just as it was reused) is sent once more when repeating it is harmless, and never otherwise. A real
 * satellite cannot be made to reset on demand, so this one is a bare HTTP server that resets the
 * first connection of each request kind.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SatelliteClient } from '../../api/satellite/client';
import { emptySpec } from '../../common/container-spec';

let server: Server;
let client: SatelliteClient;
const seen: string[] = [];
const resetOnce = new Set<string>();

const inspection = { engineId: 'e1', name: 'c1', image: 'boatload/base:latest', created: '', labels: {}, state: { Status: 'created', Running: false } };

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const key = `${req.method} ${req.url}`;
    seen.push(key);
    req.resume();
    req.on('end', () => {
      if (!resetOnce.has(key)) {
        resetOnce.add(key);
        req.socket.destroy();
        return;
      }
      res.writeHead(req.url?.endsWith('/exec') ? 200 : 201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url?.endsWith('/exec') ? { exitCode: 0 } : inspection));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new SatelliteClient({ url: `http://127.0.0.1:${port}`, secret: 'x'.repeat(32), timeoutMs: 5000, label: 'test satellite' });
});

afterAll(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a create (without data) and a start are sent again after a reset', async () => {
  await expect(client.create({ spec: emptySpec('c1', 'boatload/base:latest') })).resolves.toMatchObject({ engineId: 'e1' });
  await expect(client.start('c1')).resolves.toMatchObject({ engineId: 'e1' });
  expect(seen.filter((k) => k === 'POST /containers')).toHaveLength(2);
  expect(seen.filter((k) => k === 'POST /containers/c1/start')).toHaveLength(2);
});

test('an exec is not: it answers 503 naming the satellite', async () => {
  await expect(client.exec('c1', { cmd: ['true'], timeoutMs: 1000 } as never)).rejects.toMatchObject({ status: 503 });
  expect(seen.filter((k) => k === 'POST /containers/c1/exec')).toHaveLength(1);
});
