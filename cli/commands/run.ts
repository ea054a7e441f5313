/**
 * `boatload run`: create a container from a local script (or a command after `--`), stream its
 * output live from the /stream events and exit with its exit code, as `docker run` does. Ctrl-C
 * stops the container and says so.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { BoatLoadClient, type CreateContainerRequest, type NetworkMode } from '../../client';
import { CliError } from '../errors';
import { Progress, progressEnabled, Waiting } from '../progress';
import { contextOf, examples } from './common';
import { finished } from './containers';

interface RunOptions {
  image?: string;
  env: string[];
  port: string[];
  hostname?: string;
  network?: string;
  permanent?: boolean;
  detach?: boolean;
  ttl?: number;
  rm?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function seconds(value: string): number {
  if (!/^\d+$/.test(value)) throw new CliError(`--ttl ${value}: a whole number of seconds is required.`);
  return Number(value);
}

/** `name[:tag]`, where a colon before the last slash belongs to a registry host:port. */
export function splitImage(image: string): { image_name: string; image_tag?: string } {
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/') && colon > 0) return { image_name: image.slice(0, colon), image_tag: image.slice(colon + 1) };
  return { image_name: image };
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--env ${pair}: expected NAME=value.`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/**
 * Whether the operands came after `--` (a command) rather than starting with a script file:
 * commander drops the `--`, so look at the raw arguments.
 */
function isCommandMode(operands: string[], raw: string[]): boolean {
  const dash = raw.indexOf('--');
  return dash >= 0 && raw.length - dash - 1 === operands.length && raw[dash + 1] === operands[0];
}

export function registerRun(program: Command): void {
  examples(
    program
      .command('run')
      .description('Run a script (or, after --, a command) in a new container; stream its output and exit with its exit code')
      .argument('[script]', 'a local script file (sent to the container); or, after --, the command')
      .argument('[args...]', "the script's (or command's) arguments")
      .option('--image <image[:tag]>', 'image (default boatload/base:latest)')
      .option('-e, --env <NAME=value>', 'an environment variable (repeatable)', collect, [])
      .option('-p, --port <port>', 'publish a container port: 8080 or 53/udp (repeatable); the host port is printed', collect, [])
      .option('--hostname <name>', "a DNS label your other containers reach it by")
      .option('--network <mode>', 'internet, private or none (default: the installation\'s)')
      .option('--permanent', 'restart it always (it runs until removed)')
      .option('-d, --detach', 'print the id and return at once')
      .option('--ttl <seconds>', 'lifetime from creation, then it is removed (0: none)', seconds)
      .option('--rm', 'remove the container once it exits')
      .passThroughOptions()
      .action(async (script: string | undefined, args: string[], options: RunOptions, command: Command) => {
        const operands = script === undefined ? [] : [script, ...args];
        if (!operands.length) throw new CliError('Nothing to run: give a SCRIPT file, or -- CMD ARGS. See boatload run --help.', 2);
        const request: CreateContainerRequest = { ...(options.image ? splitImage(options.image) : {}) };
        if (options.env.length) request.env = parseEnv(options.env);
        if (options.permanent) request.permanent = true;
        if (options.ttl !== undefined) request.ttl = options.ttl;
        // Passed as typed: the API names a bad port, hostname or mode in its 400.
        if (options.port.length) request.ports = options.port;
        if (options.hostname !== undefined) request.hostname = options.hostname;
        if (options.network !== undefined) request.network = options.network as NetworkMode;
        if (isCommandMode(operands, process.argv.slice(2))) {
          request.container_args = operands;
        } else {
          const [file, ...scriptArgs] = operands as [string, ...string[]];
          let bytes: Buffer;
          try {
            bytes = readFileSync(file);
          } catch (err) {
            throw new CliError(`Cannot read the script ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. To run a command instead: boatload run -- ${operands.join(' ')}`, 2);
          }
          request.script = bytes;
          request.scriptname = basename(file);
          if (scriptArgs.length) request.container_args = scriptArgs;
        }
        const client = contextOf(command).client();
        const upload = request.script ? new Progress(`Uploading ${request.scriptname}`, null) : null;
        const created = await client.createContainer(request, upload ? { onUpload: (sent, total) => upload.set(sent, total) } : {});
        upload?.finish();
        if (options.detach) {
          process.stdout.write(`${created.id}\n`);
          if (request.ports) await reportPorts(client, created.id);
          return;
        }
        if (request.ports) await reportPorts(client, created.id);
        const code = await follow(client, created.id);
        if (options.rm) await client.deleteContainer(created.id).catch(() => undefined);
        process.exitCode = code;
      }),
    [
      'boatload run job.sh',
      'boatload run --env NAME=world --image boatload/base:latest job.py input.csv',
      'boatload run -- sh -c \'echo hello; exit 3\'; echo $?    # 3',
      'boatload run --detach --permanent --ttl 3600 -- sleep 3600',
      'boatload run --detach --permanent -p 8080 --hostname web -- httpd -f -p 8080',
    ],
  );
}

/** Streams the output until the exit event; Ctrl-C stops the container. Answers the exit code. */
async function follow(client: BoatLoadClient, id: string): Promise<number> {
  // Set by the SIGINT handler (an object: TypeScript would narrow a plain variable to null here).
  const interrupt: { stopping: Promise<number> | null } = { stopping: null };
  const waiting = waitForStart(client, id);
  const onInterrupt = (): void => {
    waiting.stop();
    if (interrupt.stopping) {
      process.stderr.write('\nInterrupted again: leaving it.\n');
      process.exit(130);
    }
    process.stderr.write(`\nStopping container ${id.slice(0, 12)} (Ctrl-C again to leave it running)...\n`);
    const stopping = client
      .stop(id)
      .then((operation) => finished(client, operation, 'stop'))
      .then(() => {
        process.stderr.write(`Stopped container ${id}.\n`);
        return 130;
      });
    interrupt.stopping = stopping;
    stopping.catch((err: Error) => {
      process.stderr.write(`Error: ${err.message}\n`);
      process.exit(130);
    });
  };
  process.on('SIGINT', onInterrupt);
  try {
    for await (const event of client.events(id)) {
      waiting.stop();
      if (event.event === 'stdout') process.stdout.write(event.data + '\n');
      else if (event.event === 'stderr') process.stderr.write(event.data + '\n');
      else if (event.event === 'exit') {
        if (interrupt.stopping) return await interrupt.stopping;
        const exit = BoatLoadClient.exitInfo(event);
        if (exit.error) process.stderr.write(`boatload: ${exit.error}\n`);
        return exit.exit_code ?? 125;
      }
    }
    if (interrupt.stopping) return await interrupt.stopping;
    // The stream ended without its exit event: ask the record.
    const record = await client.getContainer(id);
    if (record.exit_code !== null) return record.exit_code;
    throw new CliError(`The output stream of ${id} ended before the container did (status ${record.status}). Follow it with: boatload logs -f ${id.slice(0, 12)}`);
  } finally {
    waiting.stop();
    if (!interrupt.stopping) process.off('SIGINT', onInterrupt);
  }
}

/** Statuses of a container that has not started yet. */
const NOT_STARTED = new Set(['creating', 'starting', 'restarting']);

/**
 * On a terminal, "Starting container ID... 3s" until the container runs (or its first output
 * comes, or stop()); elsewhere nothing, and no polling.
 */
function waitForStart(client: BoatLoadClient, id: string): { stop(): void } {
  const line = new Waiting(`Starting container ${id.slice(0, 12)}`);
  if (!progressEnabled()) return line;
  let done = false;
  const stop = (): void => {
    done = true;
    line.stop();
  };
  void (async () => {
    while (!done) {
      const record = await client.getContainer(id).catch(() => null);
      if (!record || !NOT_STARTED.has(record.status)) return stop();
      await new Promise((resolve) => setTimeout(resolve, 250).unref());
    }
  })();
  return { stop };
}

/**
 * Prints where each published port is reached (on stderr: stdout is the container's), once the
 * engine has published them (a few seconds at most; a port not published by then is said so).
 */
async function reportPorts(client: BoatLoadClient, id: string): Promise<void> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const ports = (await client.state(id)).ports;
    const published = (ports ?? []).every((port) => port.host_port !== null);
    if (published || Date.now() > deadline) {
      for (const port of ports ?? []) {
        const where = port.host_port === null ? 'not published (yet)' : `${port.host_ip}:${port.host_port}`;
        process.stderr.write(`port ${port.port}/${port.protocol} -> ${where}\n`);
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
