/**
 * The signed-request scheme between the API and the satellites. Each request carries an
 * HMAC-SHA256 over method, path with query, timestamp, a nonce and the body's SHA-256, keyed
 * with the cluster secret. The satellite refuses unsigned, wrong, stale, replayed and
 * body-tampered requests.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-boatload-signature';
export const TIMESTAMP_HEADER = 'x-boatload-timestamp';
export const NONCE_HEADER = 'x-boatload-nonce';
export const DIGEST_HEADER = 'x-boatload-content-sha256';

export interface SignableRequest {
  method: string;
  /** Path and query string exactly as sent, e.g. `/containers/x/logs?tail=10`. */
  path: string;
  body: Buffer;
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function canonical(req: SignableRequest, timestamp: string, nonce: string, digest: string): string {
  return [req.method.toUpperCase(), req.path, timestamp, nonce, digest].join('\n');
}

function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

/** Headers to add to a request so that a satellite with the same secret accepts it. */
export function signRequest(secret: string, req: SignableRequest, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(16).toString('hex');
  const digest = sha256Hex(req.body);
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [NONCE_HEADER]: nonce,
    [DIGEST_HEADER]: digest,
    [SIGNATURE_HEADER]: hmac(secret, canonical(req, timestamp, nonce, digest)),
  };
}

export interface VerifierOptions {
  secret: string;
  /** How far a timestamp may be from now, either way. */
  windowSeconds: number;
  now?: () => number;
}

/** Checks signatures and remembers nonces for the replay window. */
export class SignatureVerifier {
  private readonly seenNonces = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: VerifierOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Returns null when the request is genuine, or the reason it is refused. */
  verify(req: SignableRequest, headers: Record<string, string | string[] | undefined>): string | null {
    const header = (name: string): string | undefined => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const signature = header(SIGNATURE_HEADER);
    const timestamp = header(TIMESTAMP_HEADER);
    const nonce = header(NONCE_HEADER);
    const digest = header(DIGEST_HEADER);
    if (!signature || !timestamp || !nonce || !digest) return 'request is not signed';
    if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{32}$/.test(nonce)) return 'malformed signature headers';
    const nowSeconds = Math.floor(this.now() / 1000);
    if (Math.abs(nowSeconds - Number(timestamp)) > this.options.windowSeconds) return 'signature timestamp is stale';
    if (digest !== sha256Hex(req.body)) return 'body does not match its digest';
    const expected = Buffer.from(hmac(this.options.secret, canonical(req, timestamp, nonce, digest)), 'hex');
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad signature';
    this.forgetExpiredNonces(nowSeconds);
    if (this.seenNonces.has(nonce)) return 'request was replayed';
    this.seenNonces.set(nonce, Number(timestamp));
    return null;
  }

  /** Nonces arrive roughly in time order (Map keeps insertion order), so stop at the first fresh one. */
  private forgetExpiredNonces(nowSeconds: number): void {
    for (const [nonce, ts] of this.seenNonces) {
      if (nowSeconds - ts <= this.options.windowSeconds) break;
      this.seenNonces.delete(nonce);
    }
  }
}
