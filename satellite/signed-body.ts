/**
 * The satellite's gate: who is asking, then what they sent. The signature is checked over the
 * headers (method, path with query, timestamp, nonce, declared body digest) before any body byte
 * is read: an unsigned, wrong, stale or replayed request is a 401 and its body is never read (the
 * error handler drains a small one and closes the connection on a large one, common/unread-body.ts).
 * Only then is the body read, hashed as it streams and held to the body limit; a body that does
 * not match its declared digest is a 401 and nothing is acted on. The nonce counts as used only
 * once the body has matched.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { BadRequestError, NotAuthenticatedError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { SignatureVerifier } from '../common/signing';
import { hasBody } from '../common/unread-body';

export interface SignedBodyOptions {
  verifier: SignatureVerifier;
  /** Largest body accepted from a correctly signed request. */
  maxBodyBytes: number;
  logger: Logger;
}

interface ReadBody {
  bytes: Buffer;
  digest: string;
}

/**
 * Reads the whole body, hashing it, up to `limit` bytes. Past the limit it stops reading (the
 * socket is left for the error handler to close) and fails with a 413.
 */
function readHashed(req: IncomingMessage, limit: number): Promise<ReadBody> {
  const hash = createHash('sha256');
  if (!hasBody(req)) return Promise.resolve({ bytes: Buffer.alloc(0), digest: hash.digest('hex') });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') return Promise.reject(new UnsupportedMediaTypeError(`Content-Encoding ${encoding} is not accepted.`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > limit) {
        cleanup();
        // Not destroyed: that would close the socket before the 413 is written.
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      hash.update(chunk);
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ bytes: Buffer.concat(chunks, length), digest: hash.digest('hex') });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onAborted = (): void => onError(new BadRequestError('The request body was cut short.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`Request body is larger than ${limit} bytes.`);
}

export function signedBody(options: SignedBodyOptions): RequestHandler {
  const { verifier, maxBodyBytes, logger } = options;
  const refuse = (req: Request, next: NextFunction, refusal: string): void => {
    logger.warn(`refused ${req.method} ${req.path}: ${refusal}`);
    next(new NotAuthenticatedError(`Satellite request refused: ${refusal}.`));
  };
  return (req: Request, _res: Response, next: NextFunction) => {
    const head = verifier.verifyHead({ method: req.method, path: req.originalUrl }, req.headers);
    if (!head.ok) return refuse(req, next, head.refusal);
    const { claim } = head;
    readHashed(req, maxBodyBytes).then(
      ({ bytes, digest }) => {
        const refusal = claim.settle(digest);
        if (refusal) return refuse(req, next, refusal);
        if (!bytes.length) {
          req.body = undefined;
          return next();
        }
        if (!req.is('application/json')) {
          req.body = bytes;
          return next();
        }
        try {
          req.body = JSON.parse(bytes.toString('utf8')) as unknown;
        } catch {
          return next(new BadRequestError('JSON parse error.'));
        }
        next();
      },
      (err: unknown) => {
        claim.abandon();
        next(err);
      },
    );
  };
}
