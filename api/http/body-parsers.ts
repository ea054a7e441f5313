/**
 * The API's body parsers, JSON and URL-encoded forms (multipart is parsed by the one route that
 * takes it). They are mounted after the guards of each router, never app-wide: a body is read only
 * once the caller is known, except on the login and token routes, which take credentials in it.
 */
import express, { type RequestHandler } from 'express';
import { PayloadTooLargeError } from '../../common/errors';

export interface BodyLimits {
  jsonMaxBytes: number;
  formMaxBytes: number;
}

/**
 * A 413 for a body of `type` whose declared length is over `limit`, before a byte of it is read.
 * (body-parser refuses it too, but only after reading the whole body off the wire.)
 */
function refuseDeclaredOver(type: string, limit: number): RequestHandler {
  return (req, _res, next) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit && req.is(type)) return next(new PayloadTooLargeError('Request body is too large.'));
    next();
  };
}

export function bodyParsers(limits: BodyLimits): RequestHandler[] {
  return [
    refuseDeclaredOver('application/json', limits.jsonMaxBytes),
    express.json({ limit: limits.jsonMaxBytes, strict: false }),
    refuseDeclaredOver('application/x-www-form-urlencoded', limits.formMaxBytes),
    express.urlencoded({ extended: false, limit: limits.formMaxBytes, parameterLimit: 64 }),
  ];
}
