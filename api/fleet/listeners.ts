/**
 * The fleet API's own listeners, besides the main port: a unix socket guarded by its file mode
 * (0600: only its owner, normally root, may connect), and optionally HTTPS that requires a client
 * certificate signed by a given CA (fleetctl's --ca-file/--cert-file/--key-file).
 */
import { lstatSync, mkdirSync, readFileSync, unlinkSync, chmodSync } from 'node:fs';
import type { RequestListener, Server } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../../common/logger';
import type { FleetListenConfig } from '../config';

export interface FleetListenerOptions {
  app: RequestListener;
  config: FleetListenConfig;
  logger: Logger;
}

export interface FleetListeners {
  socketPath: string | null;
  tlsAddress: AddressInfo | null;
  close(): Promise<void>;
}

/** Whether something accepts connections on the socket (a live server, not a stale file). */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Removes a stale socket; refuses a live one or a path that is not a socket. */
async function clearSocketPath(path: string): Promise<void> {
  let stats;
  try {
    stats = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stats.isSocket()) throw new Error(`fleet socket ${path} exists and is not a socket; refusing to replace it`);
  if (await socketAnswers(path)) throw new Error(`fleet socket ${path} is in use by another server`);
  unlinkSync(path);
}

function listenOn(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    start();
  });
}

async function listenOnSocket(app: RequestListener, path: string): Promise<Server> {
  await clearSocketPath(path);
  mkdirSync(dirname(path), { recursive: true });
  const server = createHttpServer(app);
  await listenOn(server, () => {
    // The socket is created at bind time, inside listen(): a umask of 0177 makes it 0600 from
    // the start, with no window in which others could connect. (umask is per process.)
    let previous: number | null = null;
    try {
      previous = process.umask(0o177);
    } catch {
      previous = null; // worker threads cannot change the umask; chmod below still applies
    }
    try {
      server.listen(path);
    } finally {
      if (previous !== null) process.umask(previous);
    }
  });
  chmodSync(path, 0o600);
  return server;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startFleetListeners(options: FleetListenerOptions): Promise<FleetListeners> {
  const { config, logger } = options;
  const servers: Server[] = [];
  let tlsAddress: AddressInfo | null = null;
  try {
    if (config.socketPath) {
      servers.push(await listenOnSocket(options.app, config.socketPath));
      logger.info(`fleet API listening on unix://${config.socketPath} (mode 0600, no auth)`);
    }
    if (config.tls) {
      const { tls } = config;
      const server = createHttpsServer(
        {
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ca: readFileSync(tls.caFile),
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
        },
        options.app,
      );
      await listenOn(server, () => server.listen(tls.port, tls.host));
      servers.push(server);
      tlsAddress = server.address() as AddressInfo;
      logger.info(`fleet API listening on https://${tlsAddress.address}:${tlsAddress.port} (client certificates required)`);
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }
  return {
    socketPath: config.socketPath,
    tlsAddress,
    async close() {
      await Promise.all(servers.map(closeServer));
      // Node removes the socket file on close; make sure, but only if it is still a socket.
      if (config.socketPath) {
        try {
          if (lstatSync(config.socketPath).isSocket()) unlinkSync(config.socketPath);
        } catch {
          // already gone
        }
      }
    },
  };
}
