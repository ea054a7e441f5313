/**
 * Prints a Django-compatible pbkdf2_sha256 hash for a password, for data/data.json or ADMINHASH.
 * Usage: npm run hash-password -- 'my password'   (or pipe the password on stdin)
 */
import { hashPassword } from '../auth/passwords';
import { ConfigError, passwordIterationsFromEnv } from '../config';

async function readStdin(): Promise<string> {
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  return input.replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  let iterations: number;
  try {
    iterations = passwordIterationsFromEnv();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const password = process.argv[2] ?? (await readStdin());
  if (!password) {
    process.stderr.write('usage: npm run hash-password -- <password>\n');
    process.exit(2);
  }
  process.stdout.write((await hashPassword(password, iterations)) + '\n');
}

void main();
