// The funding-source routes on Fastify, built as the app is (test/support/controller-app.ts), with their
// services, the write-rate counters and the Idempotency-Key store faked and no database: who may call
// which route, which bodies, path ids and queries reach the services, what the write limit and the
// Idempotency-Key do around them, and the answers. The e2e specs keep a row of each over the whole app.
import { type ControllerApp, startControllerApp, strictFake } from '../../test/support/controller-app';
import { adminToken, depositServiceToken, tokenFor } from '../../test/support/tokens';
import { AppError } from '../common/app-error';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { IdempotencyRepository } from '../idempotency/idempotency.repository';
import { RateLimitRepository } from '../rate-limit/rate-limit.repository';
import { WriteRateLimitGuard } from '../rate-limit/write-rate-limit.guard';
import { ConnectService } from './connect.service';
import { FundingSourcesController } from './funding-sources.controller';
import { FundingSourcesService } from './funding-sources.service';

const USER = 'user_1';
const SOURCE_ID = '6f1c2a1e-8d0b-4c47-9b0e-3e1d2c4b5a69';
const PUBLIC_TOKEN = 'public-sandbox-0123456789';
const LIMIT = 5;
const base = (userId = USER) => `/v1/users/${userId}/funding-sources`;

const source = {
  id: SOURCE_ID,
  userId: USER,
  status: 'active',
  itemId: 'item_1',
  accountId: 'acc_1',
  plaidOptions: { item_id: 'item_1', account_id: 'acc_1' },
};
const connected = { item: { itemId: 'item_1', status: 'active' }, fundingSources: [source] };

type Route = 'linkToken' | 'connect' | 'sync' | 'disconnect' | 'list' | 'get';
const WRITES: readonly Route[] = ['linkToken', 'connect', 'sync', 'disconnect'];
const ROUTES: Record<Route, { method: string; path: string; body?: unknown; status: number }> = {
  linkToken: { method: 'POST', path: `${base()}/plaid/link-token`, body: {}, status: 201 },
  connect: {
    method: 'POST',
    path: `${base()}/plaid/connect`,
    body: { publicToken: PUBLIC_TOKEN },
    status: 201,
  },
  sync: { method: 'POST', path: `${base()}/sync`, status: 200 },
  disconnect: { method: 'DELETE', path: `${base()}/${SOURCE_ID}`, status: 200 },
  list: { method: 'GET', path: base(), status: 200 },
  get: { method: 'GET', path: `${base()}/${SOURCE_ID}`, status: 200 },
};

describe('FundingSourcesController on Fastify', () => {
  const fundingSources = {
    createLinkToken: jest.fn(() => Promise.resolve({ linkToken: 'link-sandbox-1', hostedLinkUrl: null })),
    sync: jest.fn(() => Promise.resolve({ added: 0, updated: 0, data: [source] })),
    disconnect: jest.fn(() => Promise.resolve({ ...source, status: 'disconnected' })),
    // The read path answers JSON that PostgreSQL rendered: text the route sends as it is.
    list: jest.fn(() => Promise.resolve(JSON.stringify({ data: [source] }))),
    get: jest.fn(() => Promise.resolve(JSON.stringify(source))),
  };
  const connects = {
    connect: jest.fn(() => Promise.resolve({ response: connected, replayed: false })),
  };
  const counters = { hit: jest.fn(() => Promise.resolve({ count: 1, secondsLeft: 42 })) };
  const keys = {
    start: jest.fn(() => Promise.resolve({ kind: 'started' })),
    complete: jest.fn(() => Promise.resolve()),
    release: jest.fn(() => Promise.resolve()),
  };
  const services = [
    ...Object.values(fundingSources),
    ...Object.values(connects),
    ...Object.values(counters),
    ...Object.values(keys),
  ];
  let http: ControllerApp;

  beforeAll(async () => {
    http = await startControllerApp({
      controllers: [FundingSourcesController],
      env: { WRITE_RATE_LIMIT_PER_MINUTE: String(LIMIT) },
      providers: [
        { provide: FundingSourcesService, useValue: strictFake('FundingSourcesService', fundingSources) },
        { provide: ConnectService, useValue: strictFake('ConnectService', connects) },
        WriteRateLimitGuard,
        { provide: RateLimitRepository, useValue: strictFake('RateLimitRepository', counters) },
        IdempotencyInterceptor,
        { provide: IdempotencyRepository, useValue: strictFake('IdempotencyRepository', keys) },
      ],
    });
  });
  afterAll(() => http.close());
  beforeEach(() => {
    for (const fn of services) fn.mockClear();
  });

  const call = (route: Route, token: string | undefined, headers?: Record<string, string>) => {
    const { method, path, body } = ROUTES[route];
    return http.request(method, path, { token, body, headers });
  };
  const connect = (body: unknown, headers?: Record<string, string>) =>
    http.request('POST', `${base()}/plaid/connect`, { token: tokenFor(USER), body, headers });
  const noServiceCalled = () => {
    for (const fn of [...Object.values(fundingSources), ...Object.values(connects)])
      expect(fn).not.toHaveBeenCalled();
  };

  // The rules themselves are src/auth/auth.guard.spec.ts's; here each route answers them over HTTP, and
  // a caller refused spends none of the user's write budget.
  describe('who may call what', () => {
    const all = (allowed: boolean) =>
      Object.fromEntries(Object.keys(ROUTES).map((route) => [route, allowed])) as Record<Route, boolean>;
    const callers: [string, string, Record<Route, boolean>][] = [
      ['an admin', adminToken(), all(true)],
      ['the user itself', tokenFor(USER), all(true)],
      ['another user', tokenFor('user_2'), all(false)],
      [
        'a deposit service (funding-sources:read)',
        depositServiceToken(),
        { ...all(false), list: true, get: true },
      ],
      ['scope users:write', tokenFor('svc-users', { scope: 'users:write' }), all(false)],
      [
        'another user with both scopes',
        tokenFor('user_2', { scope: 'users:write funding-sources:write' }),
        all(false),
      ],
    ];

    it.each(callers)('%s', async (_who, token, allowed) => {
      for (const route of Object.keys(ROUTES) as Route[]) {
        counters.hit.mockClear();
        const res = await call(route, token);
        expect({ route, status: res.status, code: res.body?.code }).toEqual(
          allowed[route]
            ? { route, status: ROUTES[route].status, code: undefined }
            : { route, status: 403, code: 'FORBIDDEN' },
        );
        const counted = allowed[route] && WRITES.includes(route);
        expect({ route, counted: counters.hit.mock.calls }).toEqual({
          route,
          counted: counted ? [[`writes:${USER}`]] : [],
        });
      }
    });

    it('answers every route 401 without a token, calling nothing', async () => {
      for (const route of Object.keys(ROUTES) as Route[]) {
        const res = await call(route, undefined);
        expect({ route, status: res.status, code: res.body.code }).toEqual({
          route,
          status: 401,
          code: 'UNAUTHENTICATED',
        });
      }
      expect(counters.hit).not.toHaveBeenCalled();
      noServiceCalled();
    });

    it('hands the service the verified caller and the request ids, for the audit trail', async () => {
      const res = await call('sync', tokenFor(USER), { 'x-request-id': 'client-7' });
      expect(res.status).toBe(200);
      expect(fundingSources.sync).toHaveBeenCalledWith(USER, {
        actor: { subject: USER, role: null, scope: '' },
        requestId: res.headers['x-request-id'],
        clientRequestId: 'client-7',
      });
    });
  });

  describe('the write rate limit', () => {
    it('answers 429 RATE_LIMITED with the window’s Retry-After past the limit, calling nothing', async () => {
      counters.hit.mockResolvedValueOnce({ count: LIMIT + 1, secondsLeft: 17 });
      const res = await call('linkToken', tokenFor(USER));
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
      expect(res.headers['retry-after']).toBe('17');
      noServiceCalled();
    });

    it('lets the last write within the limit through', async () => {
      counters.hit.mockResolvedValueOnce({ count: LIMIT, secondsLeft: 17 });
      expect((await call('linkToken', tokenFor(USER))).status).toBe(201);
    });

    it.each(WRITES.filter((route) => route !== 'disconnect'))(
      '%s: refuses a path userId of 161 characters with 400 before counting it',
      async (route) => {
        const long = 'a'.repeat(161);
        const { method, path, body } = ROUTES[route];
        const res = await http.request(method, path.replace(base(), base(long)), {
          token: adminToken(),
          body,
        });
        expect(res.status).toBe(400);
        expect(res.body.details).toEqual([{ field: 'userId', message: expect.stringContaining('1-128') }]);
        expect(counters.hit).not.toHaveBeenCalled();
        noServiceCalled();
      },
    );
  });

  describe('POST …/plaid/link-token', () => {
    it('takes no body at all as no options', async () => {
      const res = await http.request('POST', `${base()}/plaid/link-token`, { token: tokenFor(USER) });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ linkToken: 'link-sandbox-1', hostedLinkUrl: null });
      expect(fundingSources.createLinkToken).toHaveBeenCalledTimes(1);
      expect(fundingSources.createLinkToken.mock.calls[0]).toEqual([USER, {}, expect.any(Object)]);
    });

    it('passes the options given', async () => {
      const body = { enableHostedLink: true, completionRedirectUri: 'https://app.example.com/done' };
      const res = await http.request('POST', `${base()}/plaid/link-token`, { token: tokenFor(USER), body });
      expect(res.status).toBe(201);
      expect(fundingSources.createLinkToken.mock.calls[0]).toEqual([USER, body, expect.any(Object)]);
    });

    it.each([
      ['a non-boolean enableHostedLink', { enableHostedLink: 'yes' }, 'enableHostedLink'],
      ['a completionRedirectUri that is no string', { completionRedirectUri: 7 }, 'completionRedirectUri'],
      [
        'a completionRedirectUri of 2049 characters',
        { enableHostedLink: true, completionRedirectUri: `https://app.example.com/${'a'.repeat(2025)}` },
        'completionRedirectUri',
      ],
      ['an unknown field', { products: ['auth'] }, 'products'],
    ])('refuses %s with 400 naming it, before the service', async (_name, body, field) => {
      const res = await http.request('POST', `${base()}/plaid/link-token`, { token: tokenFor(USER), body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      // Only that field, though it may fail several rules.
      expect([...new Set(res.body.details.map((d: { field: string }) => d.field))]).toEqual([field]);
      noServiceCalled();
    });
  });

  describe('POST …/plaid/connect', () => {
    it('answers 201 for a new link and 200 for a replayed one, passing the token, caller and metadata', async () => {
      const metadata = { institution: { id: 'ins_3' }, accounts: [{ mask: '0000', name: 'Plaid Checking' }] };
      const created = await connect({ publicToken: PUBLIC_TOKEN, metadata });
      expect(created).toMatchObject({ status: 201, body: connected });
      expect(connects.connect.mock.calls[0]).toEqual([
        USER,
        PUBLIC_TOKEN,
        expect.objectContaining({ actor: { subject: USER, role: null, scope: '' } }),
        metadata,
      ]);
      connects.connect.mockResolvedValueOnce({ response: connected, replayed: true });
      expect(await connect({ publicToken: PUBLIC_TOKEN })).toMatchObject({ status: 200, body: connected });
    });

    // Every malformed body and metadata is a row of src/common/validation-pipe.spec.ts; here the route
    // refuses them before the public token is claimed or reaches Bluum.
    it.each<[string, unknown, string]>([
      ['no publicToken', {}, 'publicToken'],
      ['a number', { publicToken: 42 }, 'publicToken'],
      ['a token that is no public token', { publicToken: 'not-a-public-token' }, 'publicToken'],
      ['an unknown field', { publicToken: PUBLIC_TOKEN, x: 1 }, 'x'],
      ['metadata that is a string', { publicToken: PUBLIC_TOKEN, metadata: 'ins_3' }, 'metadata'],
      [
        'metadata with an unknown account field',
        {
          publicToken: PUBLIC_TOKEN,
          metadata: {
            institution: { id: 'ins_3' },
            accounts: [{ mask: '0000', name: 'Checking', id: 'acc_1' }],
          },
        },
        'metadata.accounts.0.id',
      ],
      [
        "metadata in Plaid's raw institution shape",
        {
          publicToken: PUBLIC_TOKEN,
          metadata: {
            institution: { name: 'Chase', institution_id: 'ins_3' },
            accounts: [{ mask: '0000', name: 'Checking' }],
          },
        },
        'metadata.institution.institution_id',
      ],
      [
        'metadata without accounts',
        { publicToken: PUBLIC_TOKEN, metadata: { institution: { id: 'ins_3' }, accounts: [] } },
        'metadata.accounts',
      ],
    ])('refuses %s with 400 naming the field, calling nothing', async (_name, body, field) => {
      const res = await connect(body, { 'idempotency-key': 'k-invalid' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
      expect(res.text).not.toContain(PUBLIC_TOKEN);
      noServiceCalled();
    });

    // What Fastify and the app's JSON parser refuse before validation.
    it.each([
      ['malformed JSON', '{"publicToken":', 'application/json', 400, 'MALFORMED_JSON'],
      ['an empty JSON body', '', 'application/json', 400, 'MALFORMED_JSON'],
      ['a JSON array', `["${PUBLIC_TOKEN}"]`, 'application/json', 400, 'VALIDATION_FAILED'],
      ['a JSON string', `"${PUBLIC_TOKEN}"`, 'application/json', 400, 'VALIDATION_FAILED'],
      ['text/plain', PUBLIC_TOKEN, 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [
        'a form',
        `publicToken=${PUBLIC_TOKEN}`,
        'application/x-www-form-urlencoded',
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'a body over 64 KiB',
        JSON.stringify({ publicToken: `public-${'a'.repeat(70_000)}` }),
        'application/json',
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'a __proto__ key',
        `{"publicToken":"${PUBLIC_TOKEN}","__proto__":{"admin":true}}`,
        'application/json',
        400,
        'MALFORMED_JSON',
      ],
      [
        'JSON nested 20,000 levels deep',
        `{"publicToken":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
        'application/json',
        400,
        'MALFORMED_JSON',
      ],
    ])(
      'refuses %s with %s %s in the envelope, calling nothing',
      async (_name, rawBody, type, status, code) => {
        const res = await http.request('POST', `${base()}/plaid/connect`, {
          token: tokenFor(USER),
          rawBody,
          headers: { 'content-type': type, 'idempotency-key': 'k-raw' },
        });
        expect(res.status).toBe(status);
        expect(res.body).toMatchObject({ statusCode: status, code, requestId: expect.any(String) });
        noServiceCalled();
      },
    );

    it('says how deep a refused body may nest', async () => {
      const deep = '['.repeat(40) + ']'.repeat(40);
      const refused = await http.request('POST', `${base()}/plaid/connect`, {
        token: tokenFor(USER),
        rawBody: `{"publicToken":${deep}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(refused.body.message).toContain('deeper than 32 levels');
    });
  });

  describe('the Idempotency-Key on connect', () => {
    const withKey = (key: string) => connect({ publicToken: PUBLIC_TOKEN }, { 'idempotency-key': key });

    it('keeps the answer under the caller’s key', async () => {
      expect((await withKey('k-1')).status).toBe(201);
      expect(keys.start.mock.calls[0].slice(0, 2)).toEqual([USER, 'k-1']);
      expect(keys.complete).toHaveBeenCalledWith(USER, 'k-1', 201, connected);
      expect(keys.release).not.toHaveBeenCalled();
    });

    it('releases a key answered 409 CONNECT_IN_PROGRESS, so a retry with it reaches the service', async () => {
      connects.connect.mockRejectedValueOnce(new AppError('CONNECT_IN_PROGRESS', 'in progress'));
      const first = await withKey('k-in-progress');
      expect(first.status).toBe(409);
      expect(first.body.code).toBe('CONNECT_IN_PROGRESS');
      expect(keys.release).toHaveBeenCalledWith(USER, 'k-in-progress');
      expect(keys.complete).not.toHaveBeenCalled();

      const retry = await withKey('k-in-progress');
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
      expect(connects.connect).toHaveBeenCalledTimes(2);
    });

    it('keeps a final 4xx answer, envelope and all', async () => {
      connects.connect.mockRejectedValueOnce(new AppError('PUBLIC_TOKEN_REJECTED', 'expired'));
      const res = await withKey('k-4xx');
      expect(res.status).toBe(422);
      expect(keys.complete).toHaveBeenCalledWith(
        USER,
        'k-4xx',
        422,
        expect.objectContaining({ code: 'PUBLIC_TOKEN_REJECTED', requestId: res.body.requestId }),
      );
      expect(keys.release).not.toHaveBeenCalled();
    });

    it('replays what the store kept, marked as replayed, without the service', async () => {
      keys.start.mockResolvedValueOnce({ kind: 'replay', status: 201, body: connected } as never);
      const res = await withKey('k-replay');
      expect(res).toMatchObject({ status: 201, body: connected });
      expect(res.headers['idempotent-replayed']).toBe('true');
      noServiceCalled();
    });

    it.each([
      ['mismatch', 422, 'IDEMPOTENCY_KEY_REUSED'],
      ['in-flight', 409, 'IDEMPOTENCY_KEY_IN_FLIGHT'],
    ])('answers a key that is %s with %s %s, without the service', async (kind, status, code) => {
      keys.start.mockResolvedValueOnce({ kind });
      const res = await withKey(`k-${kind}`);
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      noServiceCalled();
    });

    // Every malformed key is a row of src/idempotency/idempotency.interceptor.spec.ts.
    it('refuses a key that is too long with 400, before the store', async () => {
      const res = await withKey('k'.repeat(256));
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
      expect(keys.start).not.toHaveBeenCalled();
      noServiceCalled();
    });

    it('stores no key for a token whose sub is no user id (401)', async () => {
      const sub = 'b'.repeat(129);
      const res = await http.request('POST', `${base(sub)}/plaid/connect`, {
        token: tokenFor(sub),
        body: { publicToken: PUBLIC_TOKEN },
        headers: { 'idempotency-key': 'long-sub-1' },
      });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
      expect(keys.start).not.toHaveBeenCalled();
      expect(counters.hit).not.toHaveBeenCalled();
    });
  });

  describe('the path fundingSourceId', () => {
    it('refuses one that is not a UUID the same way on GET (plain pipe) and DELETE (DTO)', async () => {
      for (const method of ['GET', 'DELETE']) {
        const res = await http.request(method, `${base()}/1%20OR%201=1`, { token: adminToken() });
        expect({ method, status: res.status, details: res.body.details }).toEqual({
          method,
          status: 400,
          details: [{ field: 'fundingSourceId', message: 'fundingSourceId must be a UUID' }],
        });
      }
      noServiceCalled();
    });

    it('passes a UUID in any case through', async () => {
      const upper = SOURCE_ID.toUpperCase();
      expect((await http.request('GET', `${base()}/${upper}`, { token: tokenFor(USER) })).status).toBe(200);
      expect(fundingSources.get).toHaveBeenCalledWith(USER, upper);
      expect((await http.request('DELETE', `${base()}/${upper}`, { token: tokenFor(USER) })).status).toBe(
        200,
      );
      expect(fundingSources.disconnect).toHaveBeenCalledWith(USER, upper, expect.any(Object));
    });
  });

  describe('the read routes', () => {
    it.each([
      ['no status', '', undefined],
      ['status=all', '?status=all', 'all'],
      ['status=disconnected', '?status=disconnected', 'disconnected'],
    ])('list with %s', async (_name, query, status) => {
      const res = await http.request('GET', `${base()}${query}`, { token: depositServiceToken() });
      expect(res.status).toBe(200);
      expect(fundingSources.list).toHaveBeenCalledWith(USER, status);
    });

    it.each([
      ['an unknown status', '?status=pending', ['status']],
      ['an unknown parameter', '?limit=5', ['limit']],
      ['a repeated status', '?status=active&status=all', ['status']],
    ])('refuses a list query with %s with 400, before the service', async (_name, query, fields) => {
      const res = await http.request('GET', `${base()}${query}`, { token: tokenFor(USER) });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(fields);
      noServiceCalled();
    });

    it('sends the JSON the read path rendered as it is, as application/json', async () => {
      for (const path of [base(), `${base()}/${SOURCE_ID}`]) {
        const res = await http.request('GET', path, { token: tokenFor(USER) });
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.text).toBe(path === base() ? JSON.stringify({ data: [source] }) : JSON.stringify(source));
      }
    });

    it("answers the service's 404 in the envelope", async () => {
      fundingSources.get.mockRejectedValueOnce(new AppError('FUNDING_SOURCE_NOT_FOUND', 'none'));
      const res = await http.request('GET', `${base()}/${SOURCE_ID}`, { token: tokenFor(USER) });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'FUNDING_SOURCE_NOT_FOUND' });
    });
  });
});
