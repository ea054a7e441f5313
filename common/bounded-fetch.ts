/**
 * Server-side downloads (scripturl, dataurl) with limits: http/https only, a byte cap, a total
 * time limit and a bounded number of redirects. Failures are ValidationErrors on the named field.
 */
import fetch, { type Response } from 'node-fetch';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { PayloadTooLargeError, ValidationError } from './errors';

export interface DownloadLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
}

export interface DownloadRequest extends DownloadLimits {
  url: string;
  /** The request field the URL came from, named in error messages. */
  field: string;
}

function checkUrl(field: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw ValidationError.field(field, 'Enter a valid URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ValidationError.field(field, 'Only http and https URLs are allowed.');
  }
  return url;
}

async function open(req: DownloadRequest, signal: AbortSignal): Promise<Response> {
  const url = checkUrl(req.field, req.url);
  let response: Response;
  try {
    response = await fetch(url.href, { signal, follow: req.maxRedirects ?? 5, compress: false, size: 0 });
  } catch (err) {
    const reason = signal.aborted ? `timed out after ${req.timeoutMs} ms` : (err as Error).message;
    throw ValidationError.field(req.field, `Could not download ${url.href}: ${reason}`);
  }
  if (!response.ok) {
    throw ValidationError.field(req.field, `Could not download ${url.href}: HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > req.maxBytes) {
    response.body.resume();
    throw new PayloadTooLargeError(`${req.field}: the download is ${declared} bytes; the limit is ${req.maxBytes}.`);
  }
  return response;
}

function byteCap(req: DownloadRequest): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > req.maxBytes) {
        done(new PayloadTooLargeError(`${req.field}: the download exceeds the limit of ${req.maxBytes} bytes.`));
      } else {
        done(null, chunk);
      }
    },
  });
}

async function withTimeout<T>(req: DownloadRequest, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), req.timeoutMs);
  try {
    return await work(controller.signal);
  } catch (err) {
    if (controller.signal.aborted && !(err instanceof ValidationError) && !(err instanceof PayloadTooLargeError)) {
      throw ValidationError.field(req.field, `Could not download ${req.url}: timed out after ${req.timeoutMs} ms`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Downloads a small resource into memory (scripts). */
export function downloadToBuffer(req: DownloadRequest): Promise<Buffer> {
  return withTimeout(req, async (signal) => {
    const response = await open(req, signal);
    const chunks: Buffer[] = [];
    const cap = byteCap(req);
    cap.on('data', (chunk: Buffer) => chunks.push(chunk));
    await pipeline(response.body, cap);
    return Buffer.concat(chunks);
  });
}

/** Downloads a resource to a file (data archives), returning the byte count. */
export function downloadToFile(req: DownloadRequest & { file: string }): Promise<number> {
  return withTimeout(req, async (signal) => {
    const response = await open(req, signal);
    let bytes = 0;
    const cap = byteCap(req);
    cap.on('data', (chunk: Buffer) => (bytes += chunk.length));
    await pipeline(response.body, cap, createWriteStream(req.file, { mode: 0o600 }));
    return bytes;
  });
}
