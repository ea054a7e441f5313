/**
 * The API's own description, open to anyone: GET /health, GET /v1/openapi.json (generated from the
 * mounted route tables, see openapi-document.ts) and the interactive reference at /docs
 * (swagger-ui, served from the swagger-ui-dist package: nothing is fetched from elsewhere).
 */
import type { Request, RequestHandler, Response } from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { NotFoundError } from '../../common/errors';
import type { RouteDef } from '../http/route-table';
import type { OpenApiDocument } from './openapi-document';

export const OPENAPI_PATH = '/v1/openapi.json';

/** The files of swagger-ui-dist the page loads; nothing else in that folder is served. */
export const DOCS_ASSETS: readonly string[] = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png', 'favicon-16x16.png'];

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>BoatLoad API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// A file rather than an inline script, so that a strict Content-Security-Policy can serve the page.
const DOCS_INIT = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  withCredentials: true,
  tryItOutEnabled: true,
  // No badge from the public validator: the page loads nothing from elsewhere.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;

export interface DescriptionRouteDeps {
  /** The document, generated on first use from every mounted route (these included). */
  document: () => OpenApiDocument;
  /** GET /health's guard and handler (the app's: anonymous ok/not ok, the report for admins). */
  health: RequestHandler[];
}

export function descriptionRoutes(deps: DescriptionRouteDeps): RouteDef[] {
  const assets = getAbsoluteFSPath();
  return [
    {
      method: 'get',
      path: '/health',
      summary: "The API's health. Anonymous: only ok or not ok; an admin gets the report (store, satellites, engine, warnings).",
      answer: '200 {status: "ok"} (admins: {status, store, satellites, engine, warnings}), or 503 with status "unavailable"',
      responses: [{ status: 503, description: 'A dependency is down: status "unavailable" (admins: the report, naming it).' }],
      handlers: deps.health,
    },
    {
      method: 'get',
      path: OPENAPI_PATH,
      summary: 'This description: an OpenAPI 3.1 document of every route, generated from the route tables and the schemas requests are validated with.',
      answer: '200 {openapi: "3.1.0", info, paths, components}',
      handlers: [
        (_req, res) => {
          res.json(deps.document());
        },
      ],
    },
    {
      method: 'get',
      path: '/docs',
      summary: 'The interactive reference (swagger-ui): every route, with "Try it out" against this API.',
      answer: '200 text/html',
      responses: [{ status: 200, description: 'The reference page.', contentType: 'text/html' }],
      handlers: [
        (_req, res) => {
          res.type('html').send(DOCS_PAGE);
        },
      ],
    },
    {
      method: 'get',
      path: '/docs/init.js',
      summary: "The reference page's start-up script.",
      answer: '200 application/javascript',
      responses: [{ status: 200, description: 'The script.', contentType: 'application/javascript' }],
      handlers: [
        (_req, res) => {
          res.type('application/javascript').send(DOCS_INIT);
        },
      ],
    },
    {
      method: 'get',
      path: '/docs/assets/*filepath',
      summary: "The reference page's styles, scripts and icons (from the swagger-ui-dist package).",
      answer: '200 the file; 404 for any other name',
      responses: [{ status: 200, description: 'The file (CSS, JavaScript or PNG).', contentType: 'application/octet-stream' }],
      handlers: [
        (req: Request, res: Response) => {
          const name = ([] as unknown[]).concat((req.params as Record<string, unknown>).filepath).join('/');
          if (!DOCS_ASSETS.includes(name)) throw new NotFoundError();
          res.set('Cache-Control', 'public, max-age=3600');
          res.sendFile(name, { root: assets });
        },
      ],
    },
  ];
}
