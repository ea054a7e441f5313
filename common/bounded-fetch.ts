/**
 * Server-side downloads (scripturl, dataurl) with limits: http/https only, a byte cap, a total
 * time limit and a bounded number of redirects. Failures are ValidationErrors on the named field.
 */
import fetch, { type Response } from 'node-fetch';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { AddressPolicy } from './address-policy';
import { PayloadTooLargeError, ValidationError } from './errors';

export interface DownloadLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
  /** Which addresses may be reached (SSRF guard); checked at connect time and on every redirect. */
  addresses: AddressPolicy;
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
  let url = checkUrl(req.field, req.url);
  // Connections resolve through the policy's lookup, so a name that points inside is refused even
  // if it changes between checks (DNS rebinding).
  const lookup = req.addresses.lookup();
  const agents = { http: new HttpAgent({ lookup }), https: new HttpsAgent({ lookup }) };
  let response: Response;
  for (let hop = 0; ; hop++) {
    const literal = req.addresses.literalHostProblem(url.hostname);
    if (literal) throw ValidationError.field(req.field, `Refusing to download from ${url.host}: ${literal}; allow it with BOATLOAD_DOWNLOAD_ALLOW.`);
    try {
      response = await fetch(url.href, { signal, redirect: 'manual', compress: false, size: 0, agent: url.protocol === 'https:' ? agents.https : agents.http });
    } catch (err) {
      const reason = signal.aborted ? `timed out after ${req.timeoutMs} ms` : (err as Error).message;
      throw ValidationError.field(req.field, `Could not download ${url.href}: ${reason}`);
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) break;
    response.body.resume();
    // Redirects are followed by hand so that every hop is checked like the first.
    if (hop >= (req.maxRedirects ?? 5)) throw ValidationError.field(req.field, `Could not download ${req.url}: too many redirects`);
    url = checkUrl(req.field, new URL(location, url).href);
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
