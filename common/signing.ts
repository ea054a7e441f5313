/**
 * The signed-request scheme between the API and the satellites. Each request carries an
 * HMAC-SHA256 over method, path with query, timestamp, a nonce and the body's SHA-256 (sent in
 * its own header), keyed with the cluster secret. The satellite checks the signature over the
 * headers before it reads a body byte, then reads the body while hashing it and refuses it when
 * it does not match the declared digest; unsigned, wrong, stale and replayed requests are refused
 * without their body being read. Responses are not signed (see SECURITY.md).
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

function canonical(req: SignedHead, timestamp: string, nonce: string, digest: string): string {
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

/** What the signature covers before the body is read: the body stands in as its declared digest. */
export interface SignedHead {
  method: string;
  /** Path and query string exactly as received. */
  path: string;
}

/**
 * A request whose headers carry a valid, fresh, unused signature. Its nonce is held (a replay is
 * refused while the body streams) but recorded as used only once the body matches `digest`.
 */
export interface SignatureClaim {
  /** The body's SHA-256 (hex) that the signature covers. */
  readonly digest: string;
  /** The body read had this SHA-256: null (the nonce is now used) or why the request is refused. */
  settle(bodyDigest: string): string | null;
  /** The body was never read to its end (too large, the client left): the nonce is free again. */
  abandon(): void;
}

export type HeadCheck = { ok: true; claim: SignatureClaim } | { ok: false; refusal: string };

const HEX_DIGEST = /^[0-9a-f]{64}$/;

/** Checks signatures and remembers nonces for the replay window. */
export class SignatureVerifier {
  private readonly seenNonces = new Map<string, number>();
  /** Nonces of authentic-looking requests whose bodies are still being read. */
  private readonly pendingNonces = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly options: VerifierOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Checks the signature over method, path, timestamp, nonce and the declared body digest, before
   * any body byte is read. An accepted head returns a claim to settle with the body's real digest.
   */
  verifyHead(req: SignedHead, headers: Record<string, string | string[] | undefined>): HeadCheck {
    const refuse = (refusal: string): HeadCheck => ({ ok: false, refusal });
    const header = (name: string): string | undefined => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const signature = header(SIGNATURE_HEADER);
    const timestamp = header(TIMESTAMP_HEADER);
    const nonce = header(NONCE_HEADER);
    const digest = header(DIGEST_HEADER);
    if (!signature || !timestamp || !nonce || !digest) return refuse('request is not signed');
    if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{32}$/.test(nonce) || !HEX_DIGEST.test(digest)) return refuse('malformed signature headers');
    const nowSeconds = Math.floor(this.now() / 1000);
    if (Math.abs(nowSeconds - Number(timestamp)) > this.options.windowSeconds) return refuse('signature timestamp is stale');
    const expected = Buffer.from(hmac(this.options.secret, canonical(req, timestamp, nonce, digest)), 'hex');
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse('bad signature');
    this.forgetExpiredNonces(nowSeconds);
    if (this.seenNonces.has(nonce) || this.pendingNonces.has(nonce)) return refuse('request was replayed');
    this.pendingNonces.add(nonce);
    let open = true;
    const close = (): boolean => {
      const wasOpen = open;
      open = false;
      this.pendingNonces.delete(nonce);
      return wasOpen;
    };
    return {
      ok: true,
      claim: {
        digest,
        settle: (bodyDigest: string) => {
          if (!close()) return 'request was already settled';
          if (bodyDigest !== digest) return 'body does not match its digest';
          this.seenNonces.set(nonce, Number(timestamp));
          return null;
        },
        abandon: () => void close(),
      },
    };
  }

  /** verifyHead and settle in one, for a body already in hand. Null when the request is genuine. */
  verify(req: SignableRequest, headers: Record<string, string | string[] | undefined>): string | null {
    const head = this.verifyHead(req, headers);
    return head.ok ? head.claim.settle(sha256Hex(req.body)) : head.refusal;
  }

  /** Nonces arrive roughly in time order (Map keeps insertion order), so stop at the first fresh one. */
  private forgetExpiredNonces(nowSeconds: number): void {
    for (const [nonce, ts] of this.seenNonces) {
      if (nowSeconds - ts <= this.options.windowSeconds) break;
      this.seenNonces.delete(nonce);
    }
  }
}
