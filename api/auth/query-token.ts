import type { RequestHandler } from 'express';

/**
 * Browsers cannot set headers on a WebSocket or an EventSource: those two routes also take the
 * JWT as `?token=`. It is moved into the Authorization header (and out of the URL, so that it is
 * never logged) before the usual auth runs.
 */
export const queryToken: RequestHandler = (req, _res, next) => {
  const token = req.query.token;
  if (req.method === 'GET' && typeof token === 'string' && /^\/[0-9a-f]{32}\/(stream|terminal)\/?$/.test(req.path)) {
    if (!req.headers.authorization) req.headers.authorization = `JWT ${token}`;
    const scrub = (url: string): string => {
      const parsed = new URL(url, 'http://boatload.invalid');
      parsed.searchParams.delete('token');
      return parsed.pathname + parsed.search;
    };
    req.url = scrub(req.url);
    req.originalUrl = scrub(req.originalUrl);
  }
  next();
};
