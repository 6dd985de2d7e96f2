/**
 * The one registry of coded errors. Every error Skybus raises on purpose is a SkybusError with a
 * stable code and the HTTP status it maps to; anything else is an internal fault and is never shown
 * to a client as is.
 */
export type ErrorCode =
  | 'VALIDATION'
  | 'BAD_QUERY'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INVALID_STATE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_ACCEPTABLE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'UNKNOWN_OUTCOME'
  | 'UNAVAILABLE'
  | 'CONFIG'
  | 'INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  VALIDATION: 400,
  BAD_QUERY: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_STATE: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNKNOWN_OUTCOME: 503,
  UNAVAILABLE: 503,
  CONFIG: 500,
  INTERNAL: 500,
};

export class SkybusError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = STATUS[code];
    this.details = details;
  }
}

/** A value that breaks the data model's rules (wrong type, too large, unknown id format). */
export class ValidationError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('VALIDATION', message, details); }
}
/** A malformed query expression ($filter, $orderby, ...). */
export class BadQueryError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('BAD_QUERY', message, details); }
}
export class NotFoundError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('NOT_FOUND', message, details); }
}
/** A conditional write lost: somebody else changed the row first (generation, IF NOT EXISTS). */
export class ConflictError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('CONFLICT', message, details); }
}
/** An operation that the resource's current state does not allow. */
export class InvalidStateError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('INVALID_STATE', message, details); }
}
export class UnauthenticatedError extends SkybusError {
  constructor(message = 'authentication required') { super('UNAUTHENTICATED', message); }
}
export class ForbiddenError extends SkybusError {
  constructor(message = 'not allowed') { super('FORBIDDEN', message); }
}
export class MethodNotAllowedError extends SkybusError {
  constructor(message: string) { super('METHOD_NOT_ALLOWED', message); }
}
export class NotAcceptableError extends SkybusError {
  constructor(message: string) { super('NOT_ACCEPTABLE', message); }
}
export class UnsupportedMediaTypeError extends SkybusError {
  constructor(message: string) { super('UNSUPPORTED_MEDIA_TYPE', message); }
}
export class PayloadTooLargeError extends SkybusError {
  constructor(message: string) { super('PAYLOAD_TOO_LARGE', message); }
}
export class RateLimitedError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('RATE_LIMITED', message, details); }
}
/** A lightweight transaction timed out: it may or may not have been applied. Re-read, never re-send. */
export class UnknownOutcomeError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('UNKNOWN_OUTCOME', message, details); }
}
export class UnavailableError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('UNAVAILABLE', message, details); }
}
export class ConfigError extends SkybusError {
  constructor(message: string, details?: Record<string, unknown>) { super('CONFIG', message, details); }
}

export function isSkybusError(e: unknown): e is SkybusError {
  return e instanceof SkybusError;
}
