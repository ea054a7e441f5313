/** Validation of volume requests: a 400 names the field (DRF's shape). */
import { z } from 'zod';
import { parseWith } from '../http/parse-body';

/** The body of POST /v1/volumes/; the route describes it with this same object. */
export const volumeRequestSchema = z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'Use 1-64 letters, digits, dots, dashes or underscores.') }).strict();

export function parseVolumeRequest(body: unknown): { name: string } {
  const raw = parseWith(volumeRequestSchema, body);
  return { name: raw.name };
}

