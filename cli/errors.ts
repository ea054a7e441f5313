/** An error the command line reports as one line on stderr and an exit status, never a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const LOGIN_HINT = 'Log in with `boatload login URL` (or set BOATLOAD_URL and BOATLOAD_TOKEN).';
