/** Checks of satellite route input shared by the route modules: path parameters and JSON bodies. */
import type { Request } from 'express';
import { BadRequestError } from '../common/errors';

/** A path parameter that must match its pattern (400 otherwise). */
export function param(req: Request, key: string, pattern: RegExp): string {
  const value = String(req.params[key]);
  if (!pattern.test(value)) throw new BadRequestError(`Invalid ${key}.`);
  return value;
}

/** The parsed JSON body as an object (400 when there is none). */
export function objectBody<T>(req: Request): T {
  if (!req.body || typeof req.body !== 'object' || Buffer.isBuffer(req.body)) throw new BadRequestError('A JSON body is required.');
  return req.body as T;
}
