/** Live output (Server-Sent Events) and interactive terminals (WebSocket) on a real engine. */
import { spawn } from 'node:child_process';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { projectRoot } from '../../common/project-root';
import WebSocket from 'ws';
import { b64, PASSWORD } from '../support/system';
import { parseSse, startSandboxSystem, type SandboxSystem } from '../support/resources';

let system: SandboxSystem;
let base: string;
let alice: string;
let bob: string;

beforeAll(async () => {
  system = await startSandboxSystem();
  base = await system.listen();
  alice = await system.token('alice');
  bob = await system.token('bob');
});

afterAll(async () => {
  await system.close();
}, 180000);

interface Received {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  /** When each event arrived (ms since the request). */
  arrivals: Array<{ event: string; data: string; at: number }>;
}

/** GETs a stream to its end, noting when each event arrives. */
function readStream(path: string, headers: Record<string, string>): Promise<Received> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    get(base + path, { headers }, (res) => {
      let text = '';
      const arrivals: Received['arrivals'] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        for (const event of parseSse(chunk)) arrivals.push({ event: event.event, data: event.data, at: Date.now() - started });
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, arrivals }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const SCRIPT = '#!/bin/sh\necho one\nsleep 1\necho two >&2\nsleep 1\necho "three  spaced"\nexit 7\n';

describe('GET .../stream', () => {
  let id: string;
  let first: Received;

  beforeAll(async () => {
    id = await system.create(alice, { script: b64(SCRIPT) });
    // Opened at once, while the container is still starting: it follows the script to its exit.
    first = await readStream(`/v1/container/${id}/stream`, { Authorization: `JWT ${alice}` });
  });

  test('is text/event-stream of stdout and stderr lines, then the exit', () => {
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = parseSse(first.text);
    expect(events.map((e) => [e.event, e.event === 'exit' ? JSON.parse(e.data).exit_code : e.data])).toEqual([
      ['stdout', 'one'],
      ['stderr', 'two'],
      ['stdout', 'three  spaced'],
      ['exit', 7],
    ]);
    for (const event of events) expect(event.id).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  test('events arrive as they are produced, not at the end', () => {
    const one = first.arrivals.find((a) => a.data === 'one');
    const three = first.arrivals.find((a) => a.data === 'three  spaced');
    expect(one && three).toBeTruthy();
    expect((three?.at ?? 0) - (one?.at ?? 0)).toBeGreaterThan(1200);
  });

  test('resumes after Last-Event-ID, and from ?since= (inclusive)', async () => {
    const events = parseSse(first.text);
    const after = await readStream(`/v1/container/${id}/stream`, { Authorization: `JWT ${alice}`, 'Last-Event-ID': events[0]?.id as string });
    expect(parseSse(after.text).map((e) => e.event)).toEqual(['stderr', 'stdout', 'exit']);
    const since = await readStream(`/v1/container/${id}/stream?since=${encodeURIComponent(events[1]?.id as string)}`, { Authorization: `JWT ${alice}` });
    expect(parseSse(since.text).map((e) => e.data.slice(0, 5))).toEqual(['two', 'three', expect.stringContaining('{')]);
    const later = await readStream(`/v1/container/${id}/stream?since=${Math.floor(Date.now() / 1000) + 3600}`, { Authorization: `JWT ${alice}` });
    expect(parseSse(later.text).map((e) => e.event)).toEqual(['exit']);
  });

  test('a bad since is a 400; someone else gets a 404; ?token= works for EventSource', async () => {
    const bad = await readStream(`/v1/container/${id}/stream?since=yesterday`, { Authorization: `JWT ${alice}` });
    expect(bad.status).toBe(400);
    expect((await readStream(`/v1/container/${id}/stream`, { Authorization: `JWT ${bob}` })).status).toBe(404);
    expect((await readStream(`/v1/container/${id}/stream`, {})).status).toBe(401);
    const byQuery = await readStream(`/v1/container/${id}/stream?token=${alice}`, {});
    expect(byQuery.status).toBe(200);
    expect(parseSse(byQuery.text).pop()?.event).toBe('exit');
  });
});

/** A terminal client: collects output, resolves on exit. */
class TerminalClient {
  output = '';
  exit: Promise<{ code: number | null; closeCode: number }>;
  private waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];

  constructor(readonly ws: WebSocket) {
    let exitCode: number | null = null;
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string; data?: string; exit_code?: number | null };
      if (message.type === 'output') this.output += message.data;
      if (message.type === 'exit') exitCode = message.exit_code ?? null;
      this.waiters = this.waiters.filter((w) => (w.pattern.test(this.output) ? (w.resolve(), false) : true));
    });
    this.exit = new Promise((resolve) => ws.on('close', (closeCode: number) => resolve({ code: exitCode, closeCode })));
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  waitFor(pattern: RegExp, timeoutMs = 10000): Promise<void> {
    if (pattern.test(this.output)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} in terminal output: ${JSON.stringify(this.output)}`)), timeoutMs);
      this.waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

function connect(path: string, headers: Record<string, string> = {}): Promise<TerminalClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + path, { headers });
    ws.once('open', () => resolve(new TerminalClient(ws)));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
  });
}

async function refusal(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  try {
    const client = await connect(path, headers);
    client.ws.close();
    return { status: 101, body: '' };
  } catch (err) {
    return err as { status: number; body: string };
  }
}

describe('GET .../terminal (WebSocket)', () => {
  let id: string;

  beforeAll(async () => {
    id = await system.create(alice, { container_args: ['sleep', '600'] }, 'wait=ready');
  });

  test('a PTY shell: echo, resize, exit', async () => {
    const term = await connect(`/v1/container/${id}/terminal?cols=80&rows=24`, { Authorization: `JWT ${alice}` });
    // The shell's first prompt arrives without any input (nothing said before the handshake is lost).
    await term.waitFor(/\/ # /);
    term.send({ type: 'stdin', data: 'echo hi\n' });
    await term.waitFor(/\r?\nhi\r?\n/);
    term.send({ type: 'resize', cols: 100, rows: 40 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    term.send({ type: 'stdin', data: 'stty size\n' });
    await term.waitFor(/40 100/);
    // Binary frames are raw stdin too.
    term.ws.send(Buffer.from('echo bin$((1+1))\n'));
    await term.waitFor(/bin2/);
    term.send({ type: 'stdin', data: 'exit 5\n' });
    expect(await term.exit).toEqual({ code: 5, closeCode: 1000 });
  });

  test('an unknown message is answered with an error message, the session goes on', async () => {
    const term = await connect(`/v1/container/${id}/terminal`, { Authorization: `JWT ${alice}` });
    const error = new Promise<string>((resolve) => term.ws.on('message', (d: Buffer) => JSON.parse(d.toString()).type === 'error' && resolve(d.toString())));
    term.ws.send('not json');
    expect(await error).toMatch(/Unknown message/);
    term.send({ type: 'stdin', data: 'echo still\n' });
    await term.waitFor(/\r?\nstill\r?\n/);
    term.ws.close();
  });

  test('authenticated with ?token= (browsers), or with the session cookie from this origin only', async () => {
    const byToken = await connect(`/v1/container/${id}/terminal?token=${alice}`);
    byToken.send({ type: 'stdin', data: 'exit\n' });
    expect((await byToken.exit).code).toBe(0);

    const login = await system.http().post('/v1/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200);
    const cookie = (login.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    const host = new URL(base).host;
    const bySession = await connect(`/v1/container/${id}/terminal`, { Cookie: cookie, Origin: `http://${host}` });
    bySession.send({ type: 'stdin', data: 'exit 2\n' });
    expect((await bySession.exit).code).toBe(2);
    const crossSite = await refusal(`/v1/container/${id}/terminal`, { Cookie: cookie, Origin: 'http://evil.example' });
    expect(crossSite.status).toBe(403);
  });

  test('refusals are HTTP answers: 401, 404 for others, 409 when not running, 426 without an upgrade', async () => {
    expect((await refusal(`/v1/container/${id}/terminal`)).status).toBe(401);
    expect((await refusal(`/v1/container/${id}/terminal`, { Authorization: `JWT ${bob}` })).status).toBe(404);
    expect((await refusal(`/v1/container/${'f'.repeat(32)}/terminal`, { Authorization: `JWT ${alice}` })).status).toBe(404);
    const exited = await system.create(alice, { script: b64('#!/bin/sh\nexit 0\n') }, 'wait=ready');
    const notRunning = await refusal(`/v1/container/${exited}/terminal`, { Authorization: `JWT ${alice}` });
    expect(notRunning.status).toBe(409);
    expect(JSON.parse(notRunning.body).detail).toMatch(/not running/);
    await system.http().get(`/v1/container/${id}/terminal`).set(...system.auth(alice)).expect(426);
  });

  test('the documented client (docs/terminal-client.js) works as the README says', async () => {
    const child = spawn(process.execPath, [join(projectRoot(), 'docs', 'terminal-client.js'), base, alice, id], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdin.write('echo from-client\n');
    setTimeout(() => child.stdin.write('exit 3\n'), 500);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(output).toMatch(/\r?\nfrom-client\r?\n/);
    expect(code).toBe(3);
  });

  test('closing the client ends the shell in the container', async () => {
    const term = await connect(`/v1/container/${id}/terminal?cmd=/bin/sh&cmd=-c&cmd=echo ready; exec sleep 555`, { Authorization: `JWT ${alice}` });
    await term.waitFor(/ready/);
    term.ws.close();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const ps = await system.http().post(`/v1/container/${id}/exec`).set(...system.auth(alice)).send({ cmd: ['ps', '-o', 'args'] }).expect(200);
    expect(ps.body.stdout).not.toMatch(/sleep 555/);
  });
});
