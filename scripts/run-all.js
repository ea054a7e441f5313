// Runs one satellite and the API (with the embedded local scheduler) in the foreground, with
// each line of their logs prefixed. Ctrl-C or SIGTERM stops both; if either exits, so does the other.
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const root = path.join(__dirname, '..');
const children = [
  { name: 'satellite', script: 'dist/satellite/main.js' },
  { name: 'api      ', script: 'dist/api/main.js' },
];
let stopping = false;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.process && child.process.exitCode === null) child.process.kill('SIGTERM');
  setTimeout(() => process.exit(code), 6000).unref();
  let remaining = children.filter((c) => c.process && c.process.exitCode === null).length;
  if (remaining === 0) process.exit(code);
  for (const child of children) child.process.once('exit', () => { if (--remaining === 0) process.exit(code); });
}

// The children write to our pipes, not to a terminal: ask them for readable lines when we are on one.
const env = { ...process.env };
if (process.stdout.isTTY && !env.LOG_FORMAT) env.LOG_FORMAT = 'pretty';

for (const child of children) {
  child.process = spawn(process.execPath, [path.join(root, child.script)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.process.stdout, child.process.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${child.name} | ${line}\n`));
  }
  child.process.on('exit', (code) => {
    if (!stopping) {
      process.stdout.write(`${child.name} | exited with code ${code}; stopping\n`);
      stopAll(code || 1);
    }
  });
}

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
