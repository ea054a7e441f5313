/** Reads and lifecycle of containers: ps, inspect, state, metrics, changes, rm, snapshot, fork, start/stop/restart. */
import type { Command } from 'commander';
import type { BoatLoadClient, Operation } from '../../client';
import { CliError } from '../errors';
import { ago, humanBytes, printJson, printTable } from '../output';
import { Waiting } from '../progress';
import { contextOf, examples, wantsJson, withJson } from './common';

const CHANGE_KINDS: Record<number, string> = { 0: 'C', 1: 'A', 2: 'D' };

/** A value on one line: objects as JSON, null as nothing. */
function scalar(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CliError(`${value} is not a whole number of at least 1.`);
  return Number(value);
}

/** Waits for an operation (a ticking line on a terminal) and answers it, or fails with its error. */
export async function finished(client: BoatLoadClient, operation: Operation, what: string): Promise<Operation> {
  const waiting = new Waiting(`Waiting for ${what} (operation ${operation.id.slice(0, 8)})`);
  let done: Operation;
  try {
    done = await client.waitOperation(operation.id, { timeoutMs: 600_000 });
  } finally {
    waiting.stop();
  }
  if (done.status === 'failed') throw new CliError(`${what} failed: ${done.error ?? 'unknown error'} (operation ${done.id})`);
  return done;
}

export function registerContainers(program: Command): void {
  const ps = (options: { all?: boolean; noTrunc?: boolean; quiet?: boolean }, command: Command): Promise<void> => listContainers(options, command);
  for (const name of ['ps', 'ls']) {
    examples(
      withJson(
        program
          .command(name)
          .description(name === 'ps' ? 'List your containers (admins: all)' : 'Same as ps')
          .option('--no-trunc', 'full container ids')
          .option('-q, --quiet', 'only ids'),
      ).action(ps),
      [`boatload ${name}`, `boatload ${name} -q`, `boatload ${name} --json`],
    );
  }

  examples(
    program
      .command('inspect')
      .description("A container's record as JSON")
      .argument('<id>', 'container id or a unique prefix')
      .option('--json', 'print JSON (the default)')
      .action(async (given: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        const client = context.client();
        printJson(await client.getContainer(await context.resolveId(client, given)));
      }),
    ['boatload inspect 3f2a'],
  );

  examples(
    withJson(program.command('state').description('Scheduler and engine state').argument('<id>', 'container id or a unique prefix')).action(async (given: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      const client = context.client();
      const state = await client.state(await context.resolveId(client, given));
      if (wantsJson(command)) return printJson(state);
      for (const [key, value] of Object.entries(state)) process.stdout.write(`${key}: ${scalar(value)}\n`);
    }),
    ['boatload state 3f2a', 'boatload state 3f2a --json'],
  );

  examples(
    withJson(program.command('metrics').description('CPU, memory, network and pids of a running container').argument('<id>', 'container id or a unique prefix')).action(async (given: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      const client = context.client();
      const metrics = await client.metrics(await context.resolveId(client, given));
      if (wantsJson(command)) return printJson(metrics);
      for (const [key, value] of Object.entries(metrics)) process.stdout.write(`${key}: ${scalar(value)}\n`);
    }),
    ['boatload metrics 3f2a --json'],
  );

  examples(
    withJson(program.command('changes').description("The container's filesystem changes (A added, C changed, D deleted)").argument('<id>', 'container id or a unique prefix')).action(async (given: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      const client = context.client();
      const id = await context.resolveId(client, given);
      if (wantsJson(command)) return printJson(await client.changes(id));
      for (const change of await client.changes(id)) process.stdout.write(`${CHANGE_KINDS[change.Kind] ?? '?'} ${change.Path}\n`);
    }),
    ['boatload changes 3f2a'],
  );

  examples(
    withJson(program.command('files').description('The changed regular files (numbered, with sizes)').argument('<id>', 'container id or a unique prefix')).action(async (given: string, _options: unknown, command: Command) => {
      const context = contextOf(command);
      const client = context.client();
      const files = await client.files(await context.resolveId(client, given));
      if (wantsJson(command)) return printJson(files);
      printTable(['NUM', 'SIZE', 'PATH'], files.map((f) => [String(f.num), humanBytes(f.size), f.path]));
    }),
    ['boatload files 3f2a'],
  );

  examples(
    program
      .command('rm')
      .description('Stop and remove containers')
      .argument('<ids...>', 'container ids or unique prefixes')
      .action(async (ids: string[], _options: unknown, command: Command) => {
        const context = contextOf(command);
        const client = context.client();
        let failed = 0;
        for (const given of ids) {
          try {
            const id = await context.resolveId(client, given);
            await client.deleteContainer(id);
            process.stdout.write(`${id}\n`);
          } catch (err) {
            failed += 1;
            process.stderr.write(`Error: ${given}: ${(err as Error).message}\n`);
          }
        }
        if (failed) throw new CliError(`${failed} of ${ids.length} not removed.`, 1);
      }),
    ['boatload rm 3f2a', 'boatload rm $(boatload ps -q)'],
  );

  for (const action of ['start', 'stop', 'restart'] as const) {
    examples(
      withJson(program.command(action).description(`${action[0]?.toUpperCase()}${action.slice(1)} a container and wait for it`).argument('<id>', 'container id or a unique prefix')).action(async (given: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        const client = context.client();
        const id = await context.resolveId(client, given);
        const done = await finished(client, await client[action](id), action);
        if (wantsJson(command)) return printJson(done);
        process.stdout.write(`${id}\n`);
      }),
      [`boatload ${action} 3f2a`],
    );
  }

  examples(
    withJson(program.command('snapshot').description("Commit a container's filesystem as a snapshot (the container keeps running)").argument('<id>', 'container id or a unique prefix').option('--name <name>', 'a label')).action(
      async (given: string, options: { name?: string }, command: Command) => {
        const context = contextOf(command);
        const client = context.client();
        const id = await context.resolveId(client, given);
        const done = await finished(client, await client.snapshot(id, { name: options.name }), 'snapshot');
        const snapshot = (done.result as { snapshot?: { id: string } } | undefined)?.snapshot;
        if (wantsJson(command)) return printJson(snapshot ?? done);
        process.stdout.write(`${snapshot?.id ?? done.id}\n`);
      },
    ),
    ['boatload snapshot 3f2a --name before-upgrade'],
  );

  examples(
    withJson(program.command('fork').description('Branch a container into copies started from a snapshot taken now').argument('<id>', 'container id or a unique prefix').option('--count <n>', 'how many copies', positiveInt, 1)).action(
      async (given: string, options: { count: number }, command: Command) => {
        const context = contextOf(command);
        const client = context.client();
        const id = await context.resolveId(client, given);
        const done = await finished(client, await client.fork(id, { count: options.count }), 'fork');
        const result = (done.result ?? {}) as { snapshot?: unknown; containers?: string[] };
        if (wantsJson(command)) return printJson(result);
        for (const copy of result.containers ?? []) process.stdout.write(`${copy}\n`);
      },
    ),
    ['boatload fork 3f2a --count 3'],
  );
}

async function listContainers(options: { noTrunc?: boolean; trunc?: boolean; quiet?: boolean }, command: Command): Promise<void> {
  const client = contextOf(command).client();
  const containers = await client.listContainers();
  if (wantsJson(command)) return printJson(containers);
  const full = options.trunc === false;
  const short = (id: string): string => (full ? id : id.slice(0, 12));
  if (options.quiet) {
    for (const c of containers) process.stdout.write(`${short(c.id)}\n`);
    return;
  }
  printTable(
    ['CONTAINER ID', 'IMAGE', 'OWNER', 'CREATED', 'STATUS', 'EXIT', 'EXPIRES'],
    containers.map((c) => [short(c.id), c.image, c.owner, ago(c.created), c.status, c.exit_code === null ? '' : String(c.exit_code), c.expires_at ?? '']),
  );
}
