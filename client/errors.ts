/**
 * The one error the client throws for an answer it did not want: the HTTP status and the API's
 * body (DRF: {"detail": "..."} or {"field": ["msg"]}; fleet: {"error": {"code", "message"}}),
 * with a one-line message made from that body.
 */
export class BoatLoadApiError extends Error {
  readonly status: number;
  /** The answer's body, parsed as JSON when it was JSON, else its text. */
  readonly body: unknown;

  constructor(input: { status: number; body: unknown; method: string; path: string }) {
    super(apiMessage(input.status, input.body));
    this.name = 'BoatLoadApiError';
    this.status = input.status;
    this.body = input.body;
  }
}

/** A request that never got an answer: connection refused, DNS, a reset. */
export class BoatLoadConnectionError extends Error {
  constructor(url: string, cause: unknown) {
    super(`Cannot reach ${url}: ${describeCause(cause)}`);
    this.name = 'BoatLoadConnectionError';
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as Error & { cause?: unknown }).cause;
    if (inner instanceof Error && inner.message) return inner.message;
    return cause.message;
  }
  return String(cause);
}

/** DRF's `detail`, field errors as `field: msg`, fleet's `error.message`, or the text itself. */
export function apiMessage(status: number, body: unknown): string {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === 'string') return record.detail;
    const fleet = record.error as { message?: unknown } | undefined;
    if (fleet && typeof fleet === 'object' && typeof fleet.message === 'string') return fleet.message;
    const parts: string[] = [];
    for (const [field, value] of Object.entries(record)) {
      const messages = Array.isArray(value) ? value.map(String).join(' ') : typeof value === 'string' ? value : JSON.stringify(value);
      parts.push(field === 'non_field_errors' ? messages : `${field}: ${messages}`);
    }
    if (parts.length) return parts.join('; ');
  }
  if (typeof body === 'string' && body.trim()) return `HTTP ${status}: ${body.trim().slice(0, 500)}`;
  return `HTTP ${status}`;
}
