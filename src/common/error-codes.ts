// Every error code the API answers with: its HTTP status and what it means. Swagger documents these.

export const ERROR_CODES = {
  VALIDATION_FAILED: {
    status: 400,
    description: 'A field, query or path parameter is missing, unknown or malformed.',
  },
  MALFORMED_JSON: { status: 400, description: 'The body is not valid JSON.' },
  UNAUTHENTICATED: { status: 401, description: 'No bearer token, or one that is invalid or expired.' },
  FORBIDDEN: { status: 403, description: "The token may not act on this user's data." },
  USER_NOT_FOUND: { status: 404, description: 'No user with this id is registered.' },
  FUNDING_SOURCE_NOT_FOUND: { status: 404, description: 'The user has no funding source with this id.' },
  ROUTE_NOT_FOUND: { status: 404, description: 'No such route.' },
  WEBHOOK_DELIVERY_NOT_FOUND: { status: 404, description: 'No webhook delivery has this id.' },
  WEBHOOK_DELIVERY_PENDING: {
    status: 409,
    description:
      'The webhook delivery is already queued (pending); only a delivered or failed one is retried.',
  },
  WEBHOOK_DELIVERY_SUPERSEDED: {
    status: 409,
    description:
      "A later event of the same funding source supersedes this delivery's event: sent again, it would undo the later one at a receiver that no longer knows it (such as `active` after `disconnected`). Only a funding source's latest event is sent again; read the funding source for its current state.",
  },
  BLUUM_ACCOUNT_CONFLICT: {
    status: 409,
    description:
      "The user's Bluum account cannot change: funding sources are stored under it, or (development) it is a demo user the sandbox registered.",
  },
  BLUUM_ACCOUNT_TAKEN: {
    status: 409,
    description: 'The Bluum account is registered to another user; one Bluum account belongs to one user.',
  },
  ITEM_LINKED_TO_ANOTHER_USER: {
    status: 409,
    description: 'Bluum returned a Plaid item that is already stored for another user.',
  },
  DUPLICATE_ITEM: {
    status: 409,
    description:
      'The user already has an active bank link at this institution with the same accounts (metadata.institution and metadata.accounts); the public token was not exchanged. The body lists the existing funding sources under fundingSources.',
  },
  CONNECT_IN_PROGRESS: {
    status: 409,
    description: 'The same public token is being exchanged by another request that has not finished.',
  },
  DISCONNECT_IN_PROGRESS: {
    status: 409,
    description:
      'Another request is disconnecting this bank at Bluum and has not finished; retry after Retry-After seconds.',
    retryAfterSeconds: 2,
  },
  IDEMPOTENCY_KEY_IN_FLIGHT: {
    status: 409,
    description: 'A request with this Idempotency-Key is still being processed; retry after it finishes.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    description: 'This Idempotency-Key was already used with a different request.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The body is larger than 64 KiB.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'The body is not application/json.' },
  PUBLIC_TOKEN_REJECTED: {
    status: 422,
    description: 'Bluum refused the public token: invalid, already used or expired. Open Plaid Link again.',
  },
  RATE_LIMITED: {
    status: 429,
    description:
      "Too many writes for this user this minute (WRITE_RATE_LIMIT_PER_MINUTE), or too many of the user's calls in flight at Bluum on this instance (BLUUM_MAX_CONCURRENCY_PER_USER; Bluum was not called); retry after Retry-After seconds.",
  },
  INTERNAL_ERROR: {
    status: 500,
    description: 'An unexpected error; the request id identifies it in the logs.',
  },
  BLUUM_UNAVAILABLE: {
    status: 502,
    description:
      'Bluum answered with an error (5xx, 401/403 for our credentials, 429) or could not be reached.',
  },
  BLUUM_BAD_RESPONSE: {
    status: 502,
    description:
      "Bluum's answer was not its documented JSON envelope, or held data this service does not pass on (e.g. a hosted link URL that is not https).",
  },
  BLUUM_REQUEST_REJECTED: {
    status: 502,
    description: "Bluum rejected the request (e.g. the user's Bluum account is unknown to it).",
  },
  BLUUM_ID_UNSAFE: {
    status: 502,
    description:
      "An id stored for this user (its bluumAccountId, or a funding source id Bluum sent) would not be one segment of Bluum's URL path, so Bluum was not called. Data stored before ids were checked: an admin registers the user's bluumAccountId again; do not retry as is.",
  },
  DATABASE_UNAVAILABLE: {
    status: 503,
    description:
      'The database is unreachable, too slow, or has no free connection. Retry after Retry-After seconds: every route is safe to repeat.',
    retryAfterSeconds: 2,
  },
  AUTH_PROVIDER_UNAVAILABLE: {
    status: 503,
    description:
      "The identity provider's keys (AUTH_JWKS_URL) have not been fetched yet and cannot be now, so the bearer token could not be checked; nothing was changed. Retry after Retry-After seconds.",
    retryAfterSeconds: 5,
  },
  BLUUM_BUSY: {
    status: 503,
    description:
      'Too many calls to Bluum are in flight on this instance (BLUUM_MAX_CONCURRENCY); nothing was changed. Retry after Retry-After seconds.',
    retryAfterSeconds: 1,
  },
  BLUUM_TIMEOUT: { status: 504, description: 'Bluum did not answer within BLUUM_TIMEOUT_MS.' },
} as const satisfies Record<string, { status: number; description: string; retryAfterSeconds?: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;
