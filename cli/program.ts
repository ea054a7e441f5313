/** The `boatload` command tree (commander), built on the typed client. */
import { Command } from 'commander';
import { registerAuth } from './commands/auth';
import { registerCompletion } from './commands/completion';
import { registerContainers } from './commands/containers';
import { registerExec } from './commands/exec';
import { registerRun } from './commands/run';
import { registerTransfer } from './commands/transfer';
import { registerUnits } from './commands/units';

export function buildProgram(version: string): Command {
  const program = new Command('boatload')
    .description('The BoatLoad command line: run scripts in containers on a BoatLoad API, read their output and files, drive units.')
    .version(version)
    .option('--profile <name>', 'which stored login to use (default: $BOATLOAD_PROFILE or "default")')
    .enablePositionalOptions()
    .showHelpAfterError('(boatload --help lists the verbs; boatload VERB --help shows examples)')
    .addHelpText(
      'after',
      `
Logging in:
  boatload login URL keeps a token in $XDG_CONFIG_HOME/boatload/config.json (default ~/.config/...), mode 0600.
  For scripts and CI, BOATLOAD_URL and BOATLOAD_TOKEN in the environment take the place of a login.

Examples:
  $ boatload login http://127.0.0.1:8000
  $ boatload run job.sh; echo "exit $?"
  $ boatload run -- sh -c 'echo hi >&2; exit 3'
  $ boatload ps
  $ boatload logs -f 3f2a
  $ boatload cp 3f2a:/boatload/result.csv .
`,
    );
  registerAuth(program);
  registerRun(program);
  registerContainers(program);
  registerTransfer(program);
  registerExec(program);
  registerUnits(program);
  registerCompletion(program);
  return program;
}
