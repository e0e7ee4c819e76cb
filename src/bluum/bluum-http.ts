// Bluum over HTTP, whatever the generation: the bulkhead, the time budget, retries, metrics, the exact
// URL, auth, logging and the mapping of Bluum's failures. The adapters (one per generation) know the
// paths and the bodies; this knows neither.
import { HttpService } from '@nestjs/axios';
import { Injectable, Logger } from '@nestjs/common';
import type { AxiosResponse } from 'axios';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstValueFrom } from 'rxjs';
import { AppError } from '../common/app-error';
import { RequestContext } from '../logging/request-context';
import type { ErrorCode } from '../common/error-codes';
import type { BluumOperation } from '../metrics/metrics.service';
import { MetricsService } from '../metrics/metrics.service';
import { BluumBulkhead } from './bluum-bulkhead';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumUnavailableError } from './bluum-errors';
import type { BackgroundCall } from './bluum.gateway';
import { BluumPayloadError, errorCode, errorParam } from './bluum-payloads';

const MAX_RESPONSE_BYTES = 1024 * 1024;

export type BluumMethod = 'GET' | 'POST' | 'DELETE';

export interface BluumCallOptions {
  /** What the call is, for metrics. */
  operation: BluumOperation;
  /** What a 400 with Bluum's error envelope means for this call, if not a generic rejection. */
  badRequestAs?: ErrorCode;
  /** Safe to repeat (reads, link-token): transient failures are retried within the time budget. */
  retry?: boolean;
  /** Fills `{id}` in the path template. */
  id?: string;
  /** Sent as it is: its values must already be encoded (the exactness check compares it as given). */
  query?: string;
  /** A delete: any 2xx, whatever its body, is done, and a 404 means the thing is already gone. */
  isDelete?: boolean;
  /** Background work's call (see BackgroundCall): waits for its share of the bulkhead, one attempt. */
  background?: BackgroundCall;
  /** The request the call is made for: its ids go on every line the call logs. */
  request?: RequestContext;
}

/** A request's RequestContext or background work's BackgroundCall, as the port's listItems takes them. */
/**
 * The link-token request body, the same in both generations: `enable_hosted_link` always (false unless
 * asked), and `completion_redirect_uri` only when given, since Bluum's documented body is the first alone.
 */
export function linkTokenBody(options: {
  enableHostedLink: boolean;
  completionRedirectUri?: string;
}): object {
  return {
    enable_hosted_link: options.enableHostedLink,
    ...(options.completionRedirectUri ? { completion_redirect_uri: options.completionRedirectUri } : {}),
  };
}

export function originOptions(
  origin: RequestContext | BackgroundCall | undefined,
): Pick<BluumCallOptions, 'request' | 'background' | 'retry'> {
  const request = origin instanceof RequestContext ? origin : undefined;
  const background = origin instanceof RequestContext ? undefined : origin;
  // A request's read is retried within its time budget; background work's is one attempt.
  return { request, background, retry: background === undefined };
}

// Exponential backoff with full jitter: 0-100 ms, 0-200 ms, 0-400 ms, … capped at 2 s.
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2_000;
// What a 429 that names no Retry-After is taken to ask for (Bluum limits requests per second).
const RATE_LIMITED_WAIT_MS = 1_000;
// Not worth starting an attempt with less time than this left.
const MIN_ATTEMPT_MS = 200;

// A placeholder of a path template: `{id}` is the funding source's, any other the tenant's own id
// (`{accountId}`, `{investorId}`), so each generation names its owner as its documents do and its log
// lines say which.
const PLACEHOLDER = /\{(\w+)\}/g;

type Attempt =
  { ok: true; body: unknown } | { ok: false; error: AppError; retryable: boolean; retryAfterMs?: number };

@Injectable()
export class BluumHttp {
  // The context every Bluum line has always been logged under, whichever adapter makes the call.
  private readonly logger = new Logger('BluumGateway');

  constructor(
    private readonly http: HttpService,
    private readonly endpoint: BluumEndpoint,
    private readonly bulkhead: BluumBulkhead,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * One logical call to Bluum for `owner` (the tenant id in the path), inside the bulkhead, its reply
   * read by `read`: the parsed JSON body of a 2xx (undefined when it is not JSON, and for a done
   * delete). A BluumPayloadError from `read` is BLUUM_BAD_RESPONSE. Counted by operation and outcome (a
   * reply `read` rejects counts as BLUUM_BAD_RESPONSE, not as a success) and timed from the moment the
   * bulkhead runs it, so a background call's wait for a slot is not counted as Bluum's time. A refusal
   * answered before that (BLUUM_ID_UNSAFE, BLUUM_BUSY) is counted with no duration; a background wait
   * that its signal ends never reached Bluum and is not counted at all.
   */
  async call<T>(
    method: BluumMethod,
    pathTemplate: string,
    owner: string,
    body: object | undefined,
    options: BluumCallOptions,
    read: (body: unknown) => T,
  ): Promise<T> {
    let started: number | undefined;
    let waitingInBackground = false;
    let outcome = 'success';
    try {
      const url = this.url(pathTemplate, owner, options);
      const work = (): Promise<unknown> => {
        started = performance.now();
        return this.callWithRetries(method, pathTemplate, url, body, options);
      };
      waitingInBackground = options.background !== undefined;
      const reply = options.background
        ? await this.bulkhead.runBackground(work, options.background.signal)
        : await this.bulkhead.run(owner, work);
      return this.parse(read, reply, options);
    } catch (err) {
      outcome = err instanceof AppError ? err.code : 'unknown';
      throw err;
    } finally {
      if (started !== undefined) {
        this.metrics.observeBluumCall(options.operation, outcome, (performance.now() - started) / 1000);
      } else if (!waitingInBackground) {
        this.metrics.observeBluumCall(options.operation, outcome, 0);
      }
    }
  }

  private parse<T>(read: (body: unknown) => T, body: unknown, options: BluumCallOptions): T {
    try {
      return read(body);
    } catch (err) {
      if (err instanceof BluumPayloadError) {
        this.logger.warn(`Bluum reply rejected: ${err.message}`, options.request);
        throw new AppError('BLUUM_BAD_RESPONSE', 'Bluum answered with data this service cannot use.');
      }
      throw err;
    }
  }

  /**
   * The URL of a call, refused (BLUUM_ID_UNSAFE, before anything is sent) unless it has exactly the path
   * meant: the base URL's path, then the template with each id as one encoded segment. encodeURIComponent
   * leaves `.` and `..` as they are, and a URL parser resolves those as segments of their own, so an id of
   * `..` (a bluumAccountId stored before ids were checked, say) would otherwise reach another Bluum route
   * with our tenant-wide credentials.
   */
  private url(pathTemplate: string, owner: string, options: BluumCallOptions): string {
    const ids = pathTemplate.includes('{id}') ? [owner, options.id ?? ''] : [owner];
    const path = pathTemplate.replace(PLACEHOLDER, (_placeholder, name: string) =>
      encodeURIComponent(name === 'id' ? (options.id ?? '') : owner),
    );
    const query = options.query ?? '';
    const url = `${this.endpoint.baseUrl}${path}${query}`;
    const base = new URL(this.endpoint.baseUrl);
    const built = URL.canParse(url) ? new URL(url) : null;
    const exact =
      built !== null &&
      ids.every((id) => id.length > 0) &&
      built.origin === base.origin &&
      built.pathname === `${base.pathname}${path}` &&
      built.search === query &&
      built.hash === '';
    if (!exact) {
      // The id itself is not logged: it is whatever reached us, and the template says which call it was.
      this.logger.warn(
        `Bluum ${pathTemplate}: refused to call a URL whose path is not the one meant`,
        options.request,
      );
      throw new AppError(
        'BLUUM_ID_UNSAFE',
        "An id stored for this user (its bluumAccountId, or a funding source id Bluum sent) is not one path segment of a Bluum URL; Bluum was not called. An admin must register the user's bluumAccountId again.",
      );
    }
    return url;
  }

  /** Retried if `retry` allows, and never longer than BLUUM_TIMEOUT_MS in all. */
  private async callWithRetries(
    method: BluumMethod,
    pathTemplate: string,
    url: string,
    body: object | undefined,
    options: BluumCallOptions,
  ): Promise<unknown> {
    const deadline = Date.now() + this.endpoint.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(method, pathTemplate, url, body, deadline - Date.now(), options);
      if (outcome.ok) return outcome.body;
      const backoff =
        outcome.retryAfterMs ??
        Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
      const worthRetrying =
        options.retry && outcome.retryable && Date.now() + backoff + MIN_ATTEMPT_MS < deadline;
      if (!worthRetrying) throw outcome.error;
      this.logger.warn(
        `Bluum ${method} ${pathTemplate}: ${outcome.error.code}, retry ${attempt} in ${Math.round(backoff)}ms`,
        options.request,
      );
      await sleep(backoff);
    }
  }

  private async attempt(
    method: BluumMethod,
    pathTemplate: string,
    url: string,
    body: object | undefined,
    budgetMs: number,
    options: BluumCallOptions,
  ): Promise<Attempt> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    let response: AxiosResponse<string>;
    try {
      response = await firstValueFrom(
        this.http.request<string>({
          method,
          url,
          data: body,
          headers: {
            Authorization: this.endpoint.authorization,
            Accept: 'application/json',
            ...(body ? { 'Content-Type': 'application/json' } : {}),
          },
          // `timeout` alone does not bound a body that trickles in; the signal bounds the whole call
          // (and background work's own signal abandons it at shutdown).
          timeout: budgetMs,
          signal: options.background?.signal
            ? AbortSignal.any([AbortSignal.timeout(budgetMs), options.background.signal])
            : AbortSignal.timeout(budgetMs),
          responseType: 'text',
          transformResponse: (raw: string) => raw,
          validateStatus: () => true,
          maxContentLength: MAX_RESPONSE_BYTES,
          maxRedirects: 0,
        }),
      );
    } catch (err) {
      const failure = describeTransportError(err);
      this.logger.warn(
        `Bluum ${method} ${pathTemplate} failed (${failure.reason}) after ${elapsed()}ms`,
        options.request,
      );
      // A timeout has spent the budget; a refused or reset connection may well succeed next time.
      return { ok: false, error: failure.error, retryable: failure.error.code === 'BLUUM_UNAVAILABLE' };
    }

    this.logger.log(`Bluum ${method} ${pathTemplate} ${response.status} in ${elapsed()}ms`, options.request);
    const parsed = parseJson(response.data);
    const status = response.status;
    // Bluum documents a delete's success as 204 with no body (external API) and as 200 with
    // `{status:"success",message}` and no data (internal API): any 2xx is done. A 404 means the item is
    // already gone, which is what the delete wanted.
    if (options.isDelete && ((status >= 200 && status < 300) || status === 404))
      return { ok: true, body: undefined };
    // The body is the caller's `read` to judge: each generation has its own success shape.
    if (status >= 200 && status < 300) return { ok: true, body: parsed };
    const bluumCode = errorCode(parsed);
    if (status === 401 || status === 403) {
      // Our credentials: repeating the call cannot help.
      return { ok: false, error: unavailable(status), retryable: false };
    }
    if (status === 429 || status >= 500) {
      // A 429 without Retry-After still says "slow down": wait one of Bluum's one-second windows.
      const wait = retryAfterMs(response.headers) ?? (status === 429 ? RATE_LIMITED_WAIT_MS : undefined);
      return { ok: false, error: unavailable(status, wait), retryable: true, retryAfterMs: wait };
    }
    if (bluumCode === null || status < 400) {
      return {
        ok: false,
        error: badResponse(`Bluum answered HTTP ${status} without its error envelope.`),
        retryable: false,
      };
    }
    const blamed = errorParam(parsed);
    if (
      status === 400 &&
      options.badRequestAs === 'PUBLIC_TOKEN_REJECTED' &&
      (blamed === null || blamed === 'public_token')
    ) {
      const error = new AppError(
        'PUBLIC_TOKEN_REJECTED',
        `Bluum rejected the public token (${bluumCode}): it is invalid, already used or expired. Open Plaid Link again.`,
      );
      return { ok: false, error, retryable: false };
    }
    const error = new AppError(
      'BLUUM_REQUEST_REJECTED',
      `Bluum rejected the request (HTTP ${status}, ${bluumCode}).`,
    );
    return { ok: false, error, retryable: false };
  }
}

// With Bluum's Retry-After, when it sent one: it reaches a caller that pauses on it (the sweep).
const unavailable = (status: number, retryAfter?: number): AppError =>
  new BluumUnavailableError(`Bluum is unavailable (HTTP ${status}). Try again later.`, retryAfter);
const badResponse = (message: string): AppError => new AppError('BLUUM_BAD_RESPONSE', message);

/** Retry-After in seconds (the only form Bluum's rate limiter is documented to send), as milliseconds. */
function retryAfterMs(headers: AxiosResponse['headers'] | undefined): number | undefined {
  const value = headers?.['retry-after'] as unknown;
  return typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) * 1000 : undefined;
}

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

// Only the error's code is read: Axios errors carry the request config, Basic header included.
function describeTransportError(err: unknown): { reason: string; error: AppError } {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const reason = typeof code === 'string' ? code : 'unknown';
  if (reason === 'ECONNABORTED' || reason === 'ETIMEDOUT' || reason === 'ERR_CANCELED') {
    return { reason, error: new AppError('BLUUM_TIMEOUT', 'Bluum did not answer in time. Try again later.') };
  }
  if (reason === 'ERR_BAD_RESPONSE' || reason === 'ERR_FR_MAX_BODY_LENGTH_EXCEEDED') {
    return {
      reason,
      error: new AppError('BLUUM_BAD_RESPONSE', 'Bluum answered with a reply this service cannot read.'),
    };
  }
  return { reason, error: new AppError('BLUUM_UNAVAILABLE', 'Bluum could not be reached. Try again later.') };
}
