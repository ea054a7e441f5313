/** Small pieces the verbs share: examples in --help, --json, the context of a command. */
import type { Command } from 'commander';
import { CliContext, type GlobalOptions } from '../context';

export function examples(command: Command, lines: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`);
}

export function withJson(command: Command): Command {
  return command.option('--json', 'print the answer as JSON');
}

export function contextOf(command: Command): CliContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  return new CliContext({ env: process.env, profile: globals.profile });
}

export function wantsJson(command: Command): boolean {
  return Boolean(command.optsWithGlobals<GlobalOptions>().json);
}
