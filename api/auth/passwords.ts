/**
 * Django-compatible password hashes: `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`, so a
 * BoatLoad-era data.json (and ADMINHASH) keeps working.
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);
const SALT_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomSalt(length = 22): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => SALT_ALPHABET[b % SALT_ALPHABET.length]).join('');
}

export async function hashPassword(password: string, iterations: number, salt = randomSalt()): Promise<string> {
  const hash = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  return `pbkdf2_sha256$${iterations}$${salt}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 4 || parts[0] !== 'pbkdf2_sha256') return false;
  const iterations = Number(parts[1]);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) return false;
  const expected = Buffer.from(parts[3], 'base64');
  const actual = await pbkdf2Async(password, parts[2], iterations, expected.length || 32, 'sha256');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** What UserService hashes and checks passwords with; a seam so tests can count the work done. */
export interface PasswordHasher {
  hash(password: string, iterations: number, salt?: string): Promise<string>;
  verify(password: string, encoded: string): Promise<boolean>;
}

export const pbkdf2Hasher: PasswordHasher = { hash: hashPassword, verify: verifyPassword };
