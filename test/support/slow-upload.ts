/**
 * A client that sends a request's body slowly, chunk by chunk, and records when the answer came:
 * how long after the headers, how much of the body had been sent by then, and how many bytes the
 * server read off that connection. It shows whether a server answers before reading a body.
 */
import { Agent, request as httpRequest, type Server } from 'node:http';
import type { Socket } from 'node:net';

export interface SlowUploadOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:1234. */
  url: string;
  /** The server behind `url`, to count the bytes it read off this connection. */
  server: Server;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Body bytes to send at most (stops early once answered). */
  sendBytes: number;
  /** Content-Length to declare; without it the body is chunked. */
  declaredLength?: number;
  chunkBytes?: number;
  intervalMs?: number;
  /** The byte the body is made of. */
  fill?: string;
  /** Give up waiting for an answer after this long. */
  timeoutMs?: number;
}

export interface SlowUploadResult {
  status: number;
  body: string;
  /** From sending the headers to receiving the answer's headers. */
  answeredAfterMs: number;
  /** Body bytes the client had written when the answer came. */
  sentWhenAnswered: number;
  /** Whether the whole body had been written when the answer came. */
  finishedSending: boolean;
  /** Bytes (headers included) the server read off the connection, once it closed or 500 ms after the answer. */
  serverBytesRead: number;
  /** Whether the server closed the connection within 500 ms of its answer. */
  serverClosed: boolean;
}

export function slowUpload(options: SlowUploadOptions): Promise<SlowUploadResult> {
  const { chunkBytes = 256 * 1024, intervalMs = 20, fill = 'x', timeoutMs = 10_000 } = options;
  const serverSockets = new Map<number, Socket>();
  const onConnection = (socket: Socket): void => void serverSockets.set(socket.remotePort ?? -1, socket);
  options.server.on('connection', onConnection);
  const headers: Record<string, string> = { ...options.headers };
  if (options.declaredLength !== undefined) headers['content-length'] = String(options.declaredLength);
  const chunk = Buffer.alloc(chunkBytes, fill);
  return new Promise<SlowUploadResult>((resolve, reject) => {
    const started = Date.now();
    let sent = 0;
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    // A keep-alive client, as the API is: whether the connection closes is the server's choice.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const req = httpRequest(options.url + options.path, { method: options.method, headers, agent });
    const giveUp = setTimeout(() => {
      finish();
      reject(new Error(`no answer within ${timeoutMs} ms (${sent} body bytes sent)`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(giveUp);
      clearTimeout(timer);
      options.server.off('connection', onConnection);
      agent.destroy();
    };
    const pump = (): void => {
      if (answered) return;
      if (sent >= options.sendBytes) {
        if (options.declaredLength === undefined || options.declaredLength === sent) req.end();
        return;
      }
      const piece = chunk.subarray(0, Math.min(chunkBytes, options.sendBytes - sent));
      sent += piece.length;
      const next = (): void => void (timer = setTimeout(pump, intervalMs));
      if (req.write(piece)) next();
      else req.once('drain', next);
    };
    req.on('error', (err) => {
      // Writing into a connection the server closed after answering is expected.
      if (answered) return;
      finish();
      reject(err);
    });
    req.on('response', (res) => {
      answered = true;
      const answeredAfterMs = Date.now() - started;
      const sentWhenAnswered = sent;
      const finishedSending = sent >= options.sendBytes && (options.declaredLength === undefined || options.declaredLength <= sent);
      const clientPort = req.socket?.localPort ?? -2;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => undefined);
      res.on('close', () => {
        const serverSocket = serverSockets.get(clientPort);
        const measure = (): void => {
          const serverClosed = serverSocket?.destroyed ?? false;
          finish();
          req.destroy();
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body, answeredAfterMs, sentWhenAnswered, finishedSending, serverBytesRead: serverSocket?.bytesRead ?? -1, serverClosed });
        };
        if (!serverSocket || serverSocket.destroyed) return measure();
        const wait = setTimeout(measure, 500);
        serverSocket.once('close', () => {
          clearTimeout(wait);
          measure();
        });
      });
    });
    req.flushHeaders();
    pump();
  });
}
