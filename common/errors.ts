/**
 * Typed errors that map to HTTP statuses in one place (common/http-error-handler.ts, used by the
 * API and the satellite). Bodies follow Django REST framework's shape: {"detail": "..."} or
 * {"field": ["message"]} for validation, so BoatLoad-era clients keep working.
 */

export type ErrorBody = { detail: string } | Record<string, string[]>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super('detail' in body && typeof body.detail === 'string' ? body.detail : JSON.stringify(body));
    this.name = new.target.name;
  }
}

/** 400 with per-field messages: {"field": ["message", ...]}. */
export class ValidationError extends HttpError {
  constructor(readonly fields: Record<string, string[]>) {
    super(400, fields);
  }
  static field(field: string, message: string): ValidationError {
    return new ValidationError({ [field]: [message] });
  }
}

export class BadRequestError extends HttpError {
  constructor(detail: string) {
    super(400, { detail });
  }
}

export class NotAuthenticatedError extends HttpError {
  constructor(detail = 'Authentication credentials were not provided.') {
    super(401, { detail });
  }
}

export class PermissionDeniedError extends HttpError {
  constructor(detail = 'You do not have permission to perform this action.') {
    super(403, { detail });
  }
}

/** 403: the request would take the user over one of their quotas; the detail names the limit. */
export class QuotaExceededError extends HttpError {
  constructor(detail: string) {
    super(403, { detail });
  }
}

export class NotFoundError extends HttpError {
  constructor(detail = 'Not found.') {
    super(404, { detail });
  }
}

export class ConflictError extends HttpError {
  constructor(detail: string) {
    super(409, { detail });
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(detail: string) {
    super(413, { detail });
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(detail: string) {
    super(415, { detail });
  }
}

export class TooManyRequestsError extends HttpError {
  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, { detail });
  }
}

/** A dependency (satellite, engine, store) cannot serve the request right now. */
export class ServiceUnavailableError extends HttpError {
  constructor(detail: string) {
    super(503, { detail });
  }
}

/** A dependency answered, but not in a way we understand. */
export class BadGatewayError extends HttpError {
  constructor(detail: string) {
    super(502, { detail });
  }
}

/** An error as one readable line: an HttpError's detail, or its field errors as `field: message; ...`. */
export function errorText(err: unknown): string {
  if (err instanceof HttpError) {
    const body = err.body;
    if ('detail' in body && typeof body.detail === 'string') return body.detail;
    return Object.entries(body)
      .map(([field, messages]) => `${field}: ${([] as string[]).concat(messages as string | string[]).join(' ')}`)
      .join('; ');
  }
  return err instanceof Error ? err.message : String(err);
}
