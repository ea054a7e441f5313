/** The BoatLoad SDK: `import { BoatLoadClient } from 'boatload'`. */
export { BoatLoadClient, type BoatLoadClientOptions, type StreamedBody, type TerminalOptions, type UploadProgress, type WaitOptions } from './client';
export { BoatLoadApiError, BoatLoadConnectionError, apiMessage } from './errors';
export { CLIENT_ROUTES, fillPath, type ClientMethod, type ClientRoute, type RouteName } from './routes';
export { readEvents } from './sse';
export type * from './types';
