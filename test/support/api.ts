// A typed client for the service's routes over a TestApp, so a spec says what it calls, as whom, and
// reads the answer as the contract's DTO (`body`) or error envelope (`error`). Specs that send malformed
// requests on purpose use `app.request` directly.
import type { ErrorBody } from '../../src/common/error-envelope';
import type { AdminListQuery } from '../../src/funding-sources/dto/admin-list.query';
import type { ConnectMetadataDto } from '../../src/funding-sources/dto/connect-metadata.dto';
import type { ConnectResponseDto } from '../../src/funding-sources/dto/connect-response.dto';
import type { CreateLinkTokenDto } from '../../src/funding-sources/dto/create-link-token.dto';
import type {
  EventsQuery,
  FundingSourceEventPageDto,
} from '../../src/funding-sources/dto/funding-source-event.dto';
import type { FundingSourcePageDto } from '../../src/funding-sources/dto/funding-source-page.dto';
import type {
  FundingSourceDto,
  FundingSourceListDto,
} from '../../src/funding-sources/dto/funding-source.dto';
import type { LinkTokenDto } from '../../src/funding-sources/dto/link-token.dto';
import type { StatusFilter } from '../../src/funding-sources/dto/list-funding-sources.query';
import type { SyncResultDto } from '../../src/funding-sources/dto/sync-result.dto';
import type { PutUserDto } from '../../src/users/dto/put-user.dto';
import type { UserDto } from '../../src/users/dto/user.dto';
import type {
  WebhookDeliveriesQuery,
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
} from '../../src/webhooks/dto/webhook-delivery.dto';
import { sandboxPublicToken, type TestApp, type TestResponse } from './test-app';
import { adminToken, tokenFor } from './tokens';

export interface ApiResponse<T> extends Omit<TestResponse, 'body'> {
  /** The parsed body as the route's success answer. */
  body: T;
  /** The same parsed body read as the contract's error envelope. */
  error: ErrorBody;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** Sent as X-Request-Id. */
  requestId?: string;
}

export interface ConnectInput {
  /** A fresh sandbox public token unless given. */
  publicToken?: string;
  /** Sent as the Idempotency-Key header. */
  idempotencyKey?: string;
  /** Plaid Link's onSuccess metadata, sent in the body when given. */
  metadata?: ConnectMetadataDto;
}

/** A query as fields (undefined and null left out), or as a raw `?…` string for malformed ones. */
export type Query<Q> = { [K in keyof Q]?: Q[K] | null } | string;

type Call = <T>(
  method: string,
  path: string,
  body?: unknown,
  options?: CallOptions,
) => Promise<ApiResponse<T>>;

function queryString<Q extends object>(query: Query<Q>): string {
  if (typeof query === 'string') return query;
  const pairs = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`);
  return pairs.length > 0 ? `?${pairs.join('&')}` : '';
}

/** The routes under /v1/users/{userId}, called with one caller's token. */
export class UserRoutes {
  private readonly base: string;

  constructor(
    private readonly call: Call,
    readonly userId: string,
  ) {
    this.base = `/v1/users/${encodeURIComponent(userId)}`;
  }

  putUser(body: PutUserDto, options?: CallOptions): Promise<ApiResponse<UserDto>> {
    return this.call('PUT', this.base, body, options);
  }

  getUser(options?: CallOptions): Promise<ApiResponse<UserDto>> {
    return this.call('GET', this.base, undefined, options);
  }

  linkToken(body: CreateLinkTokenDto = {}, options?: CallOptions): Promise<ApiResponse<LinkTokenDto>> {
    return this.call('POST', `${this.base}/funding-sources/plaid/link-token`, body, options);
  }

  connect(
    { publicToken = sandboxPublicToken(), idempotencyKey, metadata }: ConnectInput = {},
    options: CallOptions = {},
  ): Promise<ApiResponse<ConnectResponseDto>> {
    const headers =
      idempotencyKey === undefined
        ? options.headers
        : { ...options.headers, 'idempotency-key': idempotencyKey };
    return this.call(
      'POST',
      `${this.base}/funding-sources/plaid/connect`,
      metadata === undefined ? { publicToken } : { publicToken, metadata },
      { ...options, headers },
    );
  }

  /** Connects a fresh sandbox public token (or the one given) and insists on 201. */
  async linkBank(input: ConnectInput = {}): Promise<ConnectResponseDto> {
    const res = await this.connect(input);
    if (res.status !== 201)
      throw new Error(`connecting for ${this.userId} failed: ${res.status} ${res.text}`);
    return res.body;
  }

  list(
    query: Query<{ status: StatusFilter }> = {},
    options?: CallOptions,
  ): Promise<ApiResponse<FundingSourceListDto>> {
    return this.call('GET', `${this.base}/funding-sources${queryString(query)}`, undefined, options);
  }

  get(fundingSourceId: string, options?: CallOptions): Promise<ApiResponse<FundingSourceDto>> {
    return this.call('GET', `${this.base}/funding-sources/${fundingSourceId}`, undefined, options);
  }

  sync(options?: CallOptions): Promise<ApiResponse<SyncResultDto>> {
    return this.call('POST', `${this.base}/funding-sources/sync`, undefined, options);
  }

  disconnect(fundingSourceId: string, options?: CallOptions): Promise<ApiResponse<FundingSourceDto>> {
    return this.call('DELETE', `${this.base}/funding-sources/${fundingSourceId}`, undefined, options);
  }
}

/** Every route, called with one token (or none). */
export class Caller {
  private readonly call: Call;

  constructor(app: TestApp, token: string | undefined) {
    this.call = async <T>(method: string, path: string, body?: unknown, options: CallOptions = {}) => {
      const headers = options.requestId
        ? { ...options.headers, 'x-request-id': options.requestId }
        : options.headers;
      const res = await app.request(method, path, { token, body, headers });
      return { ...res, body: res.body as T, error: res.body as ErrorBody };
    };
  }

  /** The routes of one user, with this caller's token. */
  user(userId: string): UserRoutes {
    return new UserRoutes(this.call, userId);
  }

  listFundingSources(
    query: Query<AdminListQuery> = {},
    options?: CallOptions,
  ): Promise<ApiResponse<FundingSourcePageDto>> {
    return this.call('GET', `/v1/admin/funding-sources${queryString(query)}`, undefined, options);
  }

  events(
    userId: string,
    query: Query<EventsQuery> = {},
    options?: CallOptions,
  ): Promise<ApiResponse<FundingSourceEventPageDto>> {
    return this.call(
      'GET',
      `/v1/admin/users/${encodeURIComponent(userId)}/events${queryString(query)}`,
      undefined,
      options,
    );
  }

  webhookDeliveries(
    query: Query<WebhookDeliveriesQuery> = {},
    options?: CallOptions,
  ): Promise<ApiResponse<WebhookDeliveryPageDto>> {
    return this.call('GET', `/v1/admin/webhook-deliveries${queryString(query)}`, undefined, options);
  }

  retryWebhookDelivery(id: string, options?: CallOptions): Promise<ApiResponse<WebhookDeliveryDto>> {
    return this.call(
      'POST',
      `/v1/admin/webhook-deliveries/${encodeURIComponent(id)}/retry`,
      undefined,
      options,
    );
  }
}

export class Api {
  constructor(private readonly app: TestApp) {}

  /** The user's own routes, with the user's own token. */
  as(userId: string): UserRoutes {
    return this.withToken(tokenFor(userId)).user(userId);
  }

  /** Every route with an admin token. */
  admin(): Caller {
    return this.withToken(adminToken());
  }

  /** Every route with any token; undefined sends none. */
  withToken(token: string | undefined): Caller {
    return new Caller(this.app, token);
  }
}

export function testApi(app: TestApp): Api {
  return new Api(app);
}
