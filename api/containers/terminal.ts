/**
 * Interactive terminals: a client's WebSocket at /v1/container/<id>/terminal is bridged to a
 * WebSocket on the satellite of the container's machine (signed), which attaches a TTY exec.
 * Both legs speak the message format of common/satellite-protocol.ts; the API checks every
 * client message before passing it on, and relays output with back-pressure.
 */
import type { Request } from 'express';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { PermissionDeniedError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { TerminalClientMessage } from '../../common/satellite-protocol';
import { acceptWebSocket } from '../../common/upgrade';
import { sendJson, sendWithFlow } from '../../common/ws-flow';
import type { User } from '../store/users';
import type { ContainerLocator } from './locator';
import type { TerminalQuery } from './action-requests';

const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A message's text: ws hands a Buffer by default, an ArrayBuffer or Buffer[] with other binaryTypes. */
function messageText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}

/** A valid client message, normalized; null for anything else. */
function clientMessage(data: RawData): TerminalClientMessage | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(messageText(data));
  } catch {
    return null;
  }
  const message = parsed as Partial<Record<string, unknown>>;
  if (message?.type === 'stdin' && typeof message.data === 'string') return { type: 'stdin', data: message.data };
  const size = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000;
  if (message?.type === 'resize' && size(message.cols) && size(message.rows)) return { type: 'resize', cols: message.cols, rows: message.rows };
  return null;
}

/** WebSocket close codes a peer may not send (reserved) become a normal close. */
function closeCode(code: number): number {
  return code === 1000 || (code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999) ? code : 1000;
}

export class TerminalGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly open = new Set<WebSocket>();

  constructor(private readonly options: { locator: ContainerLocator; logger: Logger }) {}

  /**
   * Cross-site WebSocket hijacking: a browser sends the session cookie with a WebSocket from any
   * page, so a session-authenticated terminal must come from this site's own origin.
   */
  checkOrigin(req: Request): void {
    const origin = req.get('origin');
    if (req.authMethod !== 'session' || !origin) return;
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {
      host = null;
    }
    if (host !== req.get('host')) throw new PermissionDeniedError('Cross-origin terminal refused.');
  }

  /**
   * Opens the satellite's side first (its refusals, e.g. a 409 for a stopped container, answer
   * the client's HTTP request), then completes the client's handshake and bridges the two.
   */
  async connect(input: { user: User; id: string; req: Request; query: TerminalQuery }): Promise<void> {
    const { locator } = this.options;
    const owned = await locator.locate(input.user, input.id);
    const params = new URLSearchParams();
    for (const part of input.query.cmd) params.append('cmd', part);
    for (const key of ['cols', 'rows', 'user', 'workdir'] as const) {
      const value = input.query[key];
      if (value !== undefined) params.set(key, String(value));
    }
    const upstream = await locator.onEngine(owned, (satellite, container) => satellite.openTerminal(container, params));
    // The shell may speak (a prompt) or even end before the client's handshake completes: hold it.
    const early: Array<{ data: RawData; isBinary: boolean }> = [];
    const hold = (data: RawData, isBinary: boolean): void => void early.push({ data, isBinary });
    upstream.on('message', hold);
    upstream.on('error', () => undefined);
    const client = await acceptWebSocket(this.wss, input.req).catch(() => null);
    upstream.off('message', hold);
    if (!client) {
      upstream.close();
      return;
    }
    this.bridge(client, upstream, input.id, early);
  }

  private bridge(client: WebSocket, upstream: WebSocket, id: string, early: Array<{ data: RawData; isBinary: boolean }>): void {
    this.open.add(client);
    for (const message of early) sendWithFlow(client, upstream, message.data as Buffer, message.isBinary);
    if (upstream.readyState !== upstream.OPEN) {
      client.close(1000, 'ended');
      upstream.terminate();
    }
    upstream.on('message', (data: RawData, isBinary: boolean) => sendWithFlow(client, upstream, data as Buffer, isBinary));
    client.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        sendWithFlow(upstream, client, data as Buffer, true);
        return;
      }
      const message = clientMessage(data);
      if (!message) {
        sendJson(client, { type: 'error', detail: 'Unknown message: send {"type":"stdin","data":"..."} or {"type":"resize","cols":N,"rows":N}.' });
        return;
      }
      sendWithFlow(upstream, client, JSON.stringify(message));
    });
    upstream.on('close', (code: number, reason: Buffer) => {
      if (client.readyState === client.OPEN) client.close(closeCode(code), reason.toString().slice(0, 120));
    });
    client.on('close', () => {
      this.open.delete(client);
      if (upstream.readyState === upstream.OPEN || upstream.readyState === upstream.CONNECTING) upstream.close(1000, 'client left');
    });
    upstream.on('error', (err: Error) => {
      this.options.logger.warn(`terminal of ${id}: satellite side failed: ${err.message}`);
      sendJson(client, { type: 'error', detail: 'The satellite connection failed.' });
      client.close(1011, 'satellite connection failed');
    });
    client.on('error', () => upstream.terminate());
  }

  /** Ends every open terminal (API shutdown). */
  close(): void {
    for (const client of this.open) client.terminate();
    this.open.clear();
  }
}
