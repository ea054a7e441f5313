import type { Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { StreamedResponse } from '../satellite/client';

/**
 * Streams a satellite's answer to the client with back-pressure. If either side goes away the
 * other is torn down: a client that disconnects stops the satellite's read, and a satellite that
 * dies mid-stream cuts the client's connection (a truncated response, never a hang).
 */
export async function relay(res: Response, upstream: StreamedResponse, headers: Record<string, string>): Promise<void> {
  res.status(200).set(headers);
  const meter = upstream.meter;
  // An extra 'data' listener only observes: pipe's pause() stops it too, so back-pressure holds.
  if (meter) upstream.body.on('data', (chunk: Buffer) => meter(chunk.length));
  try {
    await pipeline(upstream.body, res);
  } catch {
    upstream.body.destroy();
    res.destroy();
  }
}
