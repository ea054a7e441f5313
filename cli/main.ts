#!/usr/bin/env node
/**
 * The `boatload` command (the package's bin). Errors are one line on stderr and a non-zero exit:
 * the API's own message, a hint to log in when the token is missing or refused, never a stack.
 */
import { BoatLoadApiError, BoatLoadConnectionError } from '../client';
import { CliError, LOGIN_HINT } from './errors';
import { buildProgram } from './program';

function version(): string {
  try {
    // dist/cli/main.js → the package's package.json.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

function report(err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`Error: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof BoatLoadApiError) {
    const hint = err.status === 401 ? ` ${LOGIN_HINT}` : '';
    process.stderr.write(`Error: ${err.message}${hint}\n`);
    return 1;
  }
  if (err instanceof BoatLoadConnectionError) {
    process.stderr.write(`Error: ${err.message}\n`);
    return 1;
  }
  // commander's own errors (unknown option, missing argument) are printed by commander.
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    const exitCode = (err as { exitCode?: number }).exitCode;
    return typeof exitCode === 'number' ? exitCode : 2;
  }
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

async function main(): Promise<void> {
  const program = buildProgram(version());
  program.exitOverride();
  // A closed pipe (boatload logs ID | head) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    process.exitCode = report(err);
  }
  // Keep-alive sockets must not hold the process once the verb is done.
  flushAndExit(Number(process.exitCode ?? 0));
}

function flushAndExit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

void main();
