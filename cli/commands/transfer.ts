/** Reads that move bytes: logs, cp, archive (streamed to their destination, never held whole). */
import type { Command } from 'commander';
import { createWriteStream, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BoatLoadClient } from '../../client';
import { CliError } from '../errors';
import { Progress } from '../progress';
import { contextOf, examples } from './common';

function tailCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new CliError(`--tail ${value}: a whole number is required.`);
  return Number(value);
}

/** Copies a body to a file or stdout ('-'), counting bytes for the progress bar. */
async function save(body: Readable, target: string, progress: Progress): Promise<void> {
  const counter = new PassThrough();
  counter.on('data', (chunk: Buffer) => progress.add(chunk.length));
  const out: Writable = target === '-' ? process.stdout : createWriteStream(target);
  if (target === '-') {
    // stdout is not ended by pipeline's last step (it stays usable); wait for the bytes to go.
    await pipeline(body, counter, out, { end: false });
  } else {
    await pipeline(body, counter, out);
  }
  progress.finish();
}

export function registerTransfer(program: Command): void {
  examples(
    program
      .command('logs')
      .description("A container's output (stdout and stderr as the engine stored them)")
      .argument('<id>', 'container id or a unique prefix')
      .option('-f, --follow', 'keep reading until the container exits')
      .option('--tail <n>', 'only the last N lines', tailCount)
      .option('--stderr', 'only stderr')
      .option('--stdout', 'only stdout')
      .option('--json', 'the output as events, one JSON object a line ({event, data, id}), to the exit')
      .action(async (given: string, options: { follow?: boolean; tail?: number; stderr?: boolean; stdout?: boolean; json?: boolean }, command: Command) => {
        const context = contextOf(command);
        const client = context.client();
        const id = await context.resolveId(client, given);
        if (options.json) return jsonLogs(client, id, { follow: Boolean(options.follow) });
        const stream = options.stderr && !options.stdout ? 'stderr' : options.stdout && !options.stderr ? 'stdout' : 'all';
        const { body } = await client.stdout(id, { follow: Boolean(options.follow), tail: options.tail, stream });
        await pipeline(body, process.stdout, { end: false });
      }),
    ['boatload logs 3f2a', 'boatload logs -f 3f2a', 'boatload logs --tail 20 --stderr 3f2a', 'boatload logs --json 3f2a | jq -r \'select(.event == "stderr") | .data\''],
  );

  examples(
    program
      .command('cp')
      .description('Copy a file out of a container (DEST: a file, a directory, or - for stdout)')
      .argument('<source>', 'ID:PATH, PATH absolute inside the container')
      .argument('<dest>', 'where to write it')
      .action(async (source: string, dest: string, _options: unknown, command: Command) => {
        const colon = source.indexOf(':');
        if (colon <= 0 || !source.slice(colon + 1)) throw new CliError(`${source}: expected ID:PATH, e.g. 3f2a:/etc/hostname.`);
        const context = contextOf(command);
        const client = context.client();
        const id = await context.resolveId(client, source.slice(0, colon));
        const path = source.slice(colon + 1);
        const { body, length } = await client.file(id, path);
        let target = dest;
        if (dest !== '-' && isDirectory(dest)) target = join(dest, basename(path));
        await save(body, target, new Progress(basename(path), length, { toStdout: target === '-' }));
      }),
    ['boatload cp 3f2a:/boatload/out.csv .', 'boatload cp 3f2a:/etc/hostname - | cat'],
  );

  examples(
    program
      .command('archive')
      .description('A tar of every file the container changed (.tar.gz when the name ends in .gz or with --gzip)')
      .argument('<id>', 'container id or a unique prefix')
      .option('-o, --output <file>', 'where to write it (default ID.tar; - for stdout)')
      .option('--gzip', 'gzip it')
      .action(async (given: string, options: { output?: string; gzip?: boolean }, command: Command) => {
        const context = contextOf(command);
        const client = context.client();
        const id = await context.resolveId(client, given);
        const gzip = Boolean(options.gzip) || /\.(gz|tgz)$/.test(options.output ?? '');
        const target = options.output ?? `${id}.tar${gzip ? '.gz' : ''}`;
        if (target === '-' && process.stdout.isTTY) throw new CliError('Refusing to write a tar to a terminal: use -o FILE or a pipe.');
        const { body, length } = await client.archive(id, { gzip });
        await save(body, target, new Progress(basename(target), length, { toStdout: target === '-' }));
        if (target !== '-') process.stderr.write(`${target}\n`);
      }),
    ['boatload archive 3f2a', 'boatload archive 3f2a -o changes.tar.gz', 'boatload archive 3f2a -o - | tar tvf -'],
  );
}

/**
 * The output as the event stream tells it (stdout and stderr lines in their order, then the exit),
 * one JSON object a line. The stream ends at the exit, so a running container needs -f.
 */
async function jsonLogs(client: BoatLoadClient, id: string, options: { follow: boolean }): Promise<void> {
  if (!options.follow && (await client.getContainer(id)).status === 'running') {
    throw new CliError('logs --json reads the output up to the exit: the container is running, so add -f to follow it.', 2);
  }
  for await (const event of client.events(id)) {
    const data = event.event === 'exit' ? BoatLoadClient.exitInfo(event) : event.data;
    process.stdout.write(JSON.stringify({ event: event.event, data, id: event.id ?? null }) + '\n');
    if (event.event === 'exit') return;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
