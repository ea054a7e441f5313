#!/usr/bin/env node
/**
 * A minimal BoatLoad terminal client: your terminal, attached to a shell in a container.
 *
 *   node docs/terminal-client.js http://127.0.0.1:8000 "$TOKEN" <container id>
 *
 * Messages (JSON text frames): you send {"type":"stdin","data":"..."} and
 * {"type":"resize","cols":N,"rows":N}; the server sends {"type":"output","data":"..."},
 * {"type":"error","detail":"..."} and finally {"type":"exit","exit_code":N}, then closes.
 * Needs the `ws` package (npm install ws).
 */
const WebSocket = require('ws');

const [base, token, id] = process.argv.slice(2);
if (!base || !token || !id) {
  console.error('usage: node terminal-client.js <BoatLoad URL> <JWT> <container id>');
  process.exit(2);
}
const size = () => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
const url = `${base.replace(/^http/, 'ws')}/v1/container/${id}/terminal?cols=${size().cols}&rows=${size().rows}`;
const ws = new WebSocket(url, { headers: { Authorization: `JWT ${token}` } });

ws.on('unexpected-response', (_req, res) => {
  let body = '';
  res.on('data', (chunk) => (body += chunk));
  res.on('end', () => {
    console.error(`refused: HTTP ${res.statusCode} ${body}`);
    process.exit(1);
  });
});
ws.on('error', (err) => {
  console.error(`connection failed: ${err.message}`);
  process.exit(1);
});

let exitCode = 0;
ws.on('open', () => {
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.on('data', (data) => ws.send(JSON.stringify({ type: 'stdin', data: data.toString('utf8') })));
  process.stdout.on('resize', () => ws.send(JSON.stringify({ type: 'resize', ...size() })));
});
ws.on('message', (raw) => {
  const message = JSON.parse(raw.toString());
  if (message.type === 'output') process.stdout.write(message.data);
  else if (message.type === 'error') process.stderr.write(`\r\n[boatload] ${message.detail}\r\n`);
  else if (message.type === 'exit') exitCode = message.exit_code ?? 1;
});
ws.on('close', () => {
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.exit(exitCode);
});
