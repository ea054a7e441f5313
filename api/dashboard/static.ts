/**
 * The dashboard (built from ui/ by Vite into ui/dist): its files, and index.html for its own pages
 * (/, /containers/<id>, /users, /units, /account). Any other path, API paths above all, is never
 * answered here: it falls through to the API's 404. While the folder has no index.html the
 * dashboard answers 503 saying how to build it.
 */
import express, { Router, type Request } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HttpError } from '../../common/errors';

/** The dashboard's own pages (its client routes, ui/src/main.ts), answered with index.html. */
const PAGES = /^\/(?:containers(?:\/[^/]+)?|users|units|account)?\/?$/;

/** Paths the API owns (a prefix ending in '-' matches any continuation, others a whole segment). */
export const API_PREFIXES: readonly string[] = ['/v1', '/v1-', '/api-token-', '/fleet', '/health', '/docs'];

export function isApiPath(path: string): boolean {
  return API_PREFIXES.some((prefix) => (prefix.endsWith('-') ? path.startsWith(prefix) : path === prefix || path.startsWith(`${prefix}/`)));
}

export interface DashboardOptions {
  /** The built folder (ui/dist). */
  dir: string;
}

// Same-origin only: scripts and styles from the bundle; fetches, EventSource and WebSockets to this
// API. Inline style attributes are allowed (components set widths).
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export function dashboardRouter(options: DashboardOptions): Router {
  const router = Router();
  const index = join(options.dir, 'index.html');
  const serveStatic = express.static(options.dir, {
    index: false,
    // Vite names the bundle's files by their content hash: they may be cached for good.
    setHeaders: (res, path) => {
      if (path.startsWith(join(options.dir, 'assets'))) res.set('Cache-Control', 'public, max-age=31536000, immutable');
    },
  });
  const page = (req: Request): boolean => PAGES.test(req.path);
  const wanted = (req: Request): boolean => (req.method === 'GET' || req.method === 'HEAD') && !isApiPath(req.path);
  router.use((req, res, next) => {
    if (!wanted(req)) return next();
    if (!existsSync(index)) {
      if (!page(req) && !req.path.startsWith('/assets/')) return next();
      return next(new HttpError(503, { detail: `The dashboard is not built (no ${index}). Build it with \`npm run build:ui\`; npm start and npm test build it.` }));
    }
    const headers = { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'same-origin' };
    if (page(req)) {
      res.set({ ...headers, 'Cache-Control': 'no-cache' }).sendFile(index, (err) => (err ? next(err) : undefined));
      return;
    }
    res.set(headers);
    // A file of the bundle; anything else (an old bundle's asset, an unknown path) is the API's 404.
    serveStatic(req, res, () => next());
  });
  return router;
}
