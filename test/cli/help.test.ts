/**
 * Every verb explains itself: `--help` with examples, `--json` on every read, and a completion
 * script that really completes in bash. The compiled CLI, spawned; no API needed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../cli/program';
import { CLI, cli, type CliHome } from './run-cli';

let where: CliHome;

beforeAll(() => {
  where = { home: mkdtempSync(join(tmpdir(), 'boatload-cli-help-')) };
});

afterAll(() => rmSync(where.home, { recursive: true, force: true }));

/** Verbs that are not reads: they change things, move bytes or print a script; no --json. */
const NOT_READS = new Set([
  'login',
  'logout',
  'run', // streams the container's own output
  'rm',
  'cp', // the file's bytes
  'archive', // a tar
  'completion',
  'units submit',
  'units start',
  'units load',
  'units stop',
  'units unload',
  'units destroy',
]);

/** Every verb as its words, e.g. ['units', 'list']. */
function verbs(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const words = [...prefix, sub.name()];
    return sub.commands.length ? verbs(sub, words) : [words];
  });
}

const program = buildProgram('0.0.0');
const all = verbs(program);

test('the tree has the verbs the README lists', () => {
  const names = all.map((words) => words.join(' '));
  for (const verb of ['login', 'whoami', 'run', 'ps', 'ls', 'inspect', 'state', 'logs', 'metrics', 'changes', 'cp', 'archive', 'exec', 'rm', 'snapshot', 'fork', 'units list', 'units status', 'completion']) {
    expect(names).toContain(verb);
  }
});

test.each(all.map((words) => [words.join(' '), words]))('%s --help has a description and examples', async (_name, words) => {
  const result = await cli([...(words), '--help'], where);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^Usage: boatload /);
  expect(result.stdout).toMatch(/\nExamples:\n {2}\$ .*boatload /);
});

test('every read takes --json', () => {
  const missing = all
    .map((words) => ({ name: words.join(' '), command: words.reduce<Command | undefined>((parent, word) => parent?.commands.find((c) => c.name() === word), program) }))
    .filter(({ name, command }) => !NOT_READS.has(name) && !command?.options.some((option) => option.long === '--json'))
    .map(({ name }) => name);
  expect(missing).toEqual([]);
});

/** What bash completes after the words typed so far (the last one being completed). */
function complete(words: string[]): string[] {
  const script = `source <("${process.execPath}" "${CLI}" completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _boatload; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const run = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: where.home, env: { PATH: process.env.PATH, HOME: where.home } });
  expect(run.stderr).toBe('');
  return run.stdout.split('\n').filter(Boolean).sort();
}

test('bash completion completes verbs, sub-verbs and options', () => {
  expect(complete(['boatload', 'un'])).toEqual(['units']);
  expect(complete(['boatload', 'units', 'st'])).toEqual(['start', 'status', 'stop']);
  expect(complete(['boatload', '--profile', 'x', 'lo'])).toEqual(['login', 'logout', 'logs']);
  expect(complete(['boatload', 'logs', '--f'])).toEqual(['--follow']);
});

test('zsh completion is the bash one under bashcompinit; another shell is a usage error', async () => {
  const zsh = await cli(['completion', 'zsh'], where);
  expect(zsh.code).toBe(0);
  expect(zsh.stdout.split('\n')[0]).toBe('#compdef boatload');
  expect(zsh.stdout).toContain('autoload -U +X bashcompinit && bashcompinit');
  expect(zsh.stdout).toContain('complete -o default -F _boatload boatload');
  const fish = await cli(['completion', 'fish'], where);
  expect(fish).toMatchObject({ code: 2, stderr: 'Error: No completion for fish: bash or zsh.\n' });
});
