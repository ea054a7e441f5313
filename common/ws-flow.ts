/**
 * Back-pressure for WebSocket relays: `ws` queues every send in memory, so a fast source and a
 * slow peer would buffer without bound. The source is paused while the peer's buffer is above a
 * high-water mark and resumed as the queued frames are written.
 */
import type { WebSocket } from 'ws';

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

export function sendWithFlow(ws: WebSocket, source: Pausable, data: string | Buffer, binary = false): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(data, { binary }, () => {
    if (ws.bufferedAmount < LOW_WATER) source.resume();
  });
  if (ws.bufferedAmount > HIGH_WATER) source.pause();
}

/** Sends one JSON message (control messages are small: no flow control needed). */
export function sendJson(ws: WebSocket, message: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}
