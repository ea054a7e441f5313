/** Request bodies checked against zod schemas; a failure is a 400 naming each field (DRF's shape). */
import type { z } from 'zod';
import { ValidationError } from '../../common/errors';

/**
 * zod's issues → DRF's {"field": ["message"]}. Collected in a Map: a field named "__proto__"
 * must not reach Object.prototype.
 */
export function validationErrorFrom(error: z.ZodError): ValidationError {
  const fields = new Map<string, string[]>();
  const add = (field: string, message: string): void => {
    fields.set(field, [...(fields.get(field) ?? []), message]);
  };
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys' && issue.path.length) {
      // Inside a field (an object in a list): the message names the key, the field is the top one.
      for (const key of issue.keys) add(String(issue.path[0]), `Unknown field "${key}".`);
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add(key, 'Unknown field.');
      continue;
    }
    const message = issue.code === 'invalid_type' && issue.received === 'undefined' ? 'This field is required.' : issue.message;
    add(String(issue.path[0] ?? 'non_field_errors'), message);
  }
  // Object.fromEntries defines own properties, "__proto__" included.
  return new ValidationError(Object.fromEntries(fields));
}

/** The body, checked against `schema`: anything but a JSON object is refused first. */
export function parseWith<T extends z.ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ValidationError.field('non_field_errors', 'Invalid data. Expected a dictionary.');
  }
  const result = schema.safeParse(body);
  if (!result.success) throw validationErrorFrom(result.error);
  return result.data as z.infer<T>;
}

/** A query string, checked against `schema` (unknown parameters pass: `token`, `alt` and the like). */
export function parseQueryWith<T extends z.ZodTypeAny>(schema: T, query: unknown): z.infer<T> {
  const result = schema.safeParse(query ?? {});
  if (!result.success) throw validationErrorFrom(result.error);
  return result.data as z.infer<T>;
}
