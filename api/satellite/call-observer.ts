/** What the satellite client reports about its calls (api/metrics/api-metrics.ts counts it). */
export interface SatelliteCallObserver {
  /** A call answered (any HTTP status) or failed to reach the satellite; `operation` is bounded. */
  call(event: { satellite: string; operation: string; seconds: number; outcome: 'answered' | 'unreachable' }): void;
  /** Bytes of a streamed answer (logs, file, archive, output) as they are relayed. */
  streamBytes(kind: string, bytes: number): void;
}

/**
 * `GET /containers/abc/logs?x=1` → `GET /containers/:name/logs`: a label with bounded values
 * (object names and queries dropped).
 */
export function operationOf(method: string, path: string): string {
  const pattern = path
    .split('?')[0]
    .replace(/^\/(containers|volumes)\/[^/]+/, '/$1/:name')
    .replace(/^\/images\/[^/]+/, '/images/:reference');
  return `${method} ${pattern}`;
}

/** The kind of a streamed read, from its path: logs, file, archive, output, events. */
export function streamKindOf(path: string): string {
  const match = /^\/containers\/[^/]+\/(logs|file|archive|output)\b/.exec(path);
  if (match) return match[1];
  return path.startsWith('/events') ? 'events' : 'other';
}
