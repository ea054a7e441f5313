/**
 * WebSocket upgrades through an Express app. Node hands upgrade requests to the server's
 * `upgrade` event, never to the app, so they would skip every middleware (auth, signatures,
 * the error handler). Here each upgrade request is routed through the app like any other, with
 * an HTTP response bound to the raw socket: a refusal (401, 404, 409) is a normal HTTP answer,
 * and a route that accepts it claims the socket for the WebSocket handshake.
 */
import type { Express, Request } from 'express';
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';

interface PendingUpgrade {
  socket: Socket;
  head: Buffer;
  response: ServerResponse;
}

const pending = new WeakMap<IncomingMessage, PendingUpgrade>();

/** Whether this request arrived as an HTTP upgrade (not yet claimed). */
export function isUpgrade(req: IncomingMessage): boolean {
  return pending.has(req);
}

/** Routes one upgrade request through the app. */
export function dispatchUpgrade(app: Express, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const raw = socket as Socket;
  raw.on('error', () => raw.destroy());
  const response = new ServerResponse(req);
  // One answer per upgrade socket: it is closed once a refusal has been written.
  response.shouldKeepAlive = false;
  response.assignSocket(raw);
  response.once('finish', () => {
    response.detachSocket(raw);
    raw.end();
  });
  pending.set(req, { socket: raw, head, response });
  app(req as Request, response as Parameters<Express>[1]);
}

/** Routes every upgrade request of servers made by `app.listen` through the app. */
export function routeUpgrades(app: Express): void {
  const listen = app.listen.bind(app) as (...args: unknown[]) => Server;
  app.listen = ((...args: unknown[]) => {
    const server = listen(...args);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => dispatchUpgrade(app, req, socket, head));
    return server;
  }) as Express['listen'];
}

/**
 * Completes the WebSocket handshake for an upgrade request that a route accepted. Call it only
 * after every check that may refuse the request with an HTTP error. null: the handshake was
 * invalid (ws answered 400 itself) or the client left.
 */
export function acceptWebSocket(wss: WebSocketServer, req: IncomingMessage): Promise<WebSocket | null> {
  const upgrade = pending.get(req);
  if (!upgrade) return Promise.reject(new Error('not an upgrade request'));
  pending.delete(req);
  upgrade.response.detachSocket(upgrade.socket);
  return new Promise((resolve) => {
    upgrade.socket.once('close', () => resolve(null));
    wss.handleUpgrade(req, upgrade.socket, upgrade.head, resolve);
  });
}
