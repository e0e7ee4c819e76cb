import { HttpService } from '@nestjs/axios';
import axios, { type AxiosRequestConfig } from 'axios';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { of, throwError } from 'rxjs';
import { configSlice, loadConfig } from '../config/app-config';
import { AppError } from '../common/app-error';
import type { PrismaService } from '../database/prisma.service';
import { MetricsService } from '../metrics/metrics.service';
import { BluumBulkhead } from './bluum-bulkhead';
import { retryAfterOf } from './bluum-errors';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumHttp } from './bluum-http';
import { HttpBluumGateway } from './http-bluum.gateway';
import {
  connectReply,
  errorReply,
  linkTokenReply,
  listReply,
  wireFixture,
  wireItem,
  type WireBody,
} from './wire-fixtures';

const KEY = 'unit_key_abc';
const SECRET = 'unit_secret_xyz';
const BASIC = Buffer.from(`${KEY}:${SECRET}`).toString('base64');
const PUBLIC_TOKEN = 'public-sandbox-unit-0001';
const SANDBOX_ORIGIN = 'http://127.0.0.1:3000';

type Reply = { status: number; data: string; headers?: Record<string, string> } | { error: { code: string } };

/**
 * The gateway on a strict fake HttpService that answers each call with the next reply. A call past the
 * last reply fails the test: the fake records it, and the gateway sees a transport error with no code.
 * Transport errors carry the request's secrets the way AxiosError does (message and config), so the
 * tests prove the gateway never copies them into its own errors.
 */
function gateway(
  replies: Reply | Reply[],
  /** null: the built-in sandbox, at SANDBOX_ORIGIN. */
  baseUrl: string | null = 'https://bluum.test',
  timeoutMs = '1500',
  maxConcurrency = '20',
) {
  const queue = Array.isArray(replies) ? [...replies] : [replies];
  const calls: AxiosRequestConfig[] = [];
  const http = {
    request: (config: AxiosRequestConfig) => {
      calls.push(config);
      const reply = queue.shift();
      if (!reply) throw new Error(`unexpected call ${calls.length} to Bluum`);
      return 'error' in reply
        ? throwError(() =>
            Object.assign(new Error(`${reply.error.code} ${BASIC} ${JSON.stringify(config.data)}`), {
              ...reply.error,
              config,
            }),
          )
        : of(reply);
    },
  } as unknown as HttpService;
  return { ...build(http, baseUrl, timeoutMs, maxConcurrency), calls };
}

/** The gateway and its parts on `http`, with Bluum at `baseUrl` (null: the built-in sandbox). */
function build(http: HttpService, baseUrl: string | null, timeoutMs: string, maxConcurrency = '20') {
  const config = configSlice(
    loadConfig({
      NODE_ENV: 'test',
      BLUUM_BASE_URL: baseUrl ?? undefined,
      BLUUM_API_KEY: KEY,
      BLUUM_API_SECRET: SECRET,
      BLUUM_TIMEOUT_MS: timeoutMs,
      BLUUM_MAX_CONCURRENCY: maxConcurrency,
    }),
    'bluum',
  );
  const metrics = new MetricsService({ pool: null, readPool: null } as unknown as PrismaService);
  const bulkhead = new BluumBulkhead(config, metrics);
  const endpoint = new BluumEndpoint(config);
  endpoint.attachSandbox(SANDBOX_ORIGIN);
  const sut = new HttpBluumGateway(new BluumHttp(http, endpoint, bulkhead, metrics), endpoint);
  return { sut, metrics, bulkhead };
}

/** The AppError a call rejects with; fails the test if the call succeeds. */
async function failure(call: Promise<unknown>): Promise<AppError> {
  const outcome = await call.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error('expected the call to fail');
  expect(outcome.error).toBeInstanceOf(AppError);
  return outcome.error as AppError;
}

const SECRETS = [KEY, SECRET, BASIC, PUBLIC_TOKEN];

/** Bluum's documented bodies (see wire-fixtures) answered with `status`. */
const wire = (body: WireBody, status = 200): Reply => ({ status, data: JSON.stringify(body) });
// For replies Bluum does not document (a malformed item, say): its envelope around any data.
const success = (data: unknown): Reply => ({
  status: 200,
  data: JSON.stringify({ status: 'success', data }),
});
// Bluum's message may echo what it was sent; only its code may reach our errors.
const bluumError = (status: number, code = 'BLUM-000'): Reply =>
  wire(errorReply(code, `Invalid token ${PUBLIC_TOKEN}`), status);
const linkToken = (token: string, hostedLinkUrl: string | null = null): Reply =>
  wire(linkTokenReply(token, hostedLinkUrl));
const item = wireItem({ id: 'fs_1', itemId: 'item_1' });
const connected = wire(connectReply(item));

describe('HttpBluumGateway', () => {
  describe('bulkhead and metrics', () => {
    it('refuses a call beyond BLUUM_MAX_CONCURRENCY at once with BLUUM_BUSY, and takes calls again after', async () => {
      const slow = wire(listReply([]));
      const { sut, calls, metrics } = gateway([slow, slow], 'https://bluum.test', '1500', '1');
      // The first call is in flight until the microtask queue drains; the second arrives meanwhile.
      const first = sut.listItems('acct_1');
      const second = await failure(sut.listItems('acct_1'));
      expect(second.code).toBe('BLUUM_BUSY');
      expect(second.status).toBe(503);
      await expect(first).resolves.toEqual([]);
      expect(calls).toHaveLength(1);
      await expect(sut.listItems('acct_1')).resolves.toEqual([]);
      const text = await metrics.registry.metrics();
      expect(text).toContain('bluum_bulkhead_rejections_total{limit="instance"} 1');
      expect(text).toContain('bluum_call_duration_seconds_count{operation="list",outcome="success"} 2');
      expect(text).toContain('bluum_call_duration_seconds_count{operation="list",outcome="BLUUM_BUSY"} 1');
      expect(text).toContain('bluum_calls_in_flight 0');
    });

    it('times a background call from when it holds a slot, and does not count a wait its signal ends', async () => {
      const { sut, metrics, bulkhead } = gateway([wire(listReply([]))], 'https://bluum.test', '1500', '2');
      // A request holds the background share (one slot of two) until released.
      let release!: () => void;
      const held = bulkhead.run('acct_other', () => new Promise<void>((resolve) => (release = resolve)));
      const controller = new AbortController();
      const abandoned = sut.listItems('acct_1', { background: true, signal: controller.signal });
      controller.abort(new Error('shutdown'));
      await expect(abandoned).rejects.toThrow('shutdown');
      expect(await metrics.registry.metrics()).not.toMatch(
        /bluum_call_duration_seconds_count\{operation="list"/,
      );

      const waited = sut.listItems('acct_1', { background: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
      release();
      await held;
      await expect(waited).resolves.toEqual([]);
      const text = await metrics.registry.metrics();
      expect(text).toContain('bluum_call_duration_seconds_count{operation="list",outcome="success"} 1');
      const sum = /bluum_call_duration_seconds_sum\{operation="list",outcome="success"\} (\S+)/.exec(text);
      expect(Number(sum?.[1])).toBeLessThan(0.2);
    });

    it('labels a failed call with its error code, never with the account or a secret', async () => {
      const { sut, metrics } = gateway(bluumError(500), 'https://bluum.test', '100');
      await failure(sut.createLinkToken('acct_secretive', { enableHostedLink: false }));
      const text = await metrics.registry.metrics();
      expect(text).toContain('operation="link_token",outcome="BLUUM_UNAVAILABLE"');
      expect(text).not.toContain('acct_secretive');
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(BASIC);
    });

    it('counts a reply it cannot use as BLUUM_BAD_RESPONSE, not as a success', async () => {
      const { sut, metrics } = gateway(success({ item: { itemId: 'x' } }));
      const error = await failure(sut.exchangePublicToken('acct_1', PUBLIC_TOKEN));
      expect(error.code).toBe('BLUUM_BAD_RESPONSE');
      const text = await metrics.registry.metrics();
      expect(text).toContain(
        'bluum_call_duration_seconds_count{operation="connect",outcome="BLUUM_BAD_RESPONSE"} 1',
      );
      expect(text).not.toContain('operation="connect",outcome="success"');
    });
  });

  describe('requests', () => {
    it('asks for a link token with Basic auth, a time limit and enable_hosted_link false by default', async () => {
      const { sut, calls } = gateway(linkToken('link-1'));
      await expect(sut.createLinkToken('acct/1 x', { enableHostedLink: false })).resolves.toEqual({
        linkToken: 'link-1',
        hostedLinkUrl: null,
      });
      expect(calls[0]).toMatchObject({
        method: 'POST',
        url: 'https://bluum.test/v1/accounts/acct%2F1%20x/funding-sources/plaid/link-token',
        headers: expect.objectContaining({
          Authorization: `Basic ${BASIC}`,
          'Content-Type': 'application/json',
        }),
        maxRedirects: 0,
      });
      expect(calls[0]?.data).toEqual({ enable_hosted_link: false });
      // The whole budget (BLUUM_TIMEOUT_MS) is left for the first attempt, less the ms spent getting there.
      expect(calls[0]?.timeout).toBeGreaterThan(1400);
      expect(calls[0]?.timeout).toBeLessThanOrEqual(1500);
      expect(calls[0]?.signal).toBeInstanceOf(AbortSignal);
    });

    it('sends enable_hosted_link true, and completion_redirect_uri only when asked', async () => {
      const { sut, calls } = gateway([
        linkToken('link-1', 'https://hosted.plaid.com/x'),
        linkToken('link-2', 'https://hosted.plaid.com/y'),
      ]);
      await expect(sut.createLinkToken('acct_1', { enableHostedLink: true })).resolves.toEqual({
        linkToken: 'link-1',
        hostedLinkUrl: 'https://hosted.plaid.com/x',
      });
      await sut.createLinkToken('acct_1', {
        enableHostedLink: true,
        completionRedirectUri: 'http://localhost:3000/',
      });
      expect(calls.map((call) => call.data)).toEqual([
        { enable_hosted_link: true },
        { enable_hosted_link: true, completion_redirect_uri: 'http://localhost:3000/' },
      ]);
    });

    it('answers 502 BLUUM_BAD_RESPONSE for a hosted link URL that is not https, and takes http from the built-in sandbox only', async () => {
      const plain = `${SANDBOX_ORIGIN}/sandbox/link?token=link-1`;
      const bluum = gateway([linkToken('link-1', plain), linkToken('link-2', 'javascript:alert(1)')]);
      for (let i = 0; i < 2; i++) {
        const error = await failure(bluum.sut.createLinkToken('acct_1', { enableHostedLink: true }));
        expect(error).toMatchObject({ code: 'BLUUM_BAD_RESPONSE', status: 502 });
      }
      // Not retried: Bluum answered, with something that cannot be used.
      expect(bluum.calls).toHaveLength(2);

      const sandbox = gateway([linkToken('link-1', plain), linkToken('link-2', 'javascript:alert(1)')], null);
      await expect(sandbox.sut.createLinkToken('acct_1', { enableHostedLink: true })).resolves.toEqual({
        linkToken: 'link-1',
        hostedLinkUrl: plain,
      });
      expect(sandbox.calls[0]?.url).toBe(
        `${SANDBOX_ORIGIN}/sandbox/bluum/v1/accounts/acct_1/funding-sources/plaid/link-token`,
      );
      const error = await failure(sandbox.sut.createLinkToken('acct_1', { enableHostedLink: true }));
      expect(error).toMatchObject({ code: 'BLUUM_BAD_RESPONSE', status: 502 });
    });

    it.each([
      ['https://bluum.test', 'https://bluum.test/v1'],
      ['https://bluum.test/', 'https://bluum.test/v1'],
      ['https://bluum.test/v1', 'https://bluum.test/v1'],
      ['https://bluum.test/api/v1/', 'https://bluum.test/api/v1'],
      ['https://bluum.test/api', 'https://bluum.test/api/v1'],
    ])('puts the calls for base URL %s under %s', async (baseUrl, versioned) => {
      const { sut, calls } = gateway(linkToken('link-1'), baseUrl);
      await sut.createLinkToken('acct_1', { enableHostedLink: false });
      expect(calls[0]?.url).toBe(`${versioned}/accounts/acct_1/funding-sources/plaid/link-token`);
    });

    it("lists the account's items with a GET and no body", async () => {
      const { sut, calls } = gateway(wire(listReply([item], { key: 'funding_sources', snakeCase: true })));
      await expect(sut.listItems('acct 1')).resolves.toEqual([
        expect.objectContaining({ id: 'fs_1', itemId: 'item_1', status: 'ACTIVE' }),
      ]);
      expect(calls[0]).toMatchObject({
        method: 'GET',
        url: 'https://bluum.test/v1/accounts/acct%201/funding-sources',
        data: undefined,
        headers: expect.objectContaining({ Authorization: `Basic ${BASIC}` }),
      });
      expect(calls[0]?.headers).not.toHaveProperty('Content-Type');
    });

    it('takes a 204 No Content on DELETE as done, but not on link-token', async () => {
      const { sut, calls } = gateway({ status: 204, data: '' });
      await expect(
        sut.disconnectItem('acct_1', { itemId: 'item_1', bluumFundingSourceId: 'fs_1' }),
      ).resolves.toBeUndefined();
      expect(calls).toHaveLength(1);
      const linkToken = gateway({ status: 204, data: '' }, 'https://bluum.test', '100');
      const error = await failure(linkToken.sut.createLinkToken('acct_1', { enableHostedLink: false }));
      expect(error.code).toBe('BLUUM_BAD_RESPONSE');
    });

    it("takes Bluum's internal 200 reply to DELETE (a message, no data) as done", async () => {
      const { sut, calls } = gateway([wire(wireFixture('delete.200')), { status: 202, data: '' }]);
      await expect(
        sut.disconnectItem('acct_1', { itemId: 'item_1', bluumFundingSourceId: 'fs_1' }),
      ).resolves.toBeUndefined();
      await expect(
        sut.disconnectItem('acct_1', { itemId: 'item_1', bluumFundingSourceId: 'fs_1' }),
      ).resolves.toBeUndefined();
      expect(calls).toHaveLength(2);
    });

    it("without the item's Bluum id (a minimal connect reply), takes it from Bluum's list; an item Bluum does not list is left alone", async () => {
      const listed = listReply([wireItem({ id: 'fs_from_list', itemId: 'item_1' })]);
      const { sut, calls } = gateway([wire(listed), { status: 204, data: '' }, wire(listed)]);
      await sut.disconnectItem('acct_1', { itemId: 'item_1', bluumFundingSourceId: null });
      await sut.disconnectItem('acct_1', { itemId: 'item_unknown', bluumFundingSourceId: null });
      expect(calls.map((call) => `${call.method} ${call.url}`)).toEqual([
        'GET https://bluum.test/v1/accounts/acct_1/funding-sources',
        'DELETE https://bluum.test/v1/accounts/acct_1/funding-sources/fs_from_list?type=plaid',
        'GET https://bluum.test/v1/accounts/acct_1/funding-sources',
      ]);
    });

    it('refuses a public token answered in the error envelope of the current API reference', async () => {
      const { sut } = gateway(wire(wireFixture('error.object'), 400));
      const error = await failure(sut.exchangePublicToken('acct_1', PUBLIC_TOKEN));
      expect(error.code).toBe('PUBLIC_TOKEN_REJECTED');
      expect(error.message).toContain('BLUM-400-005');
    });

    it('disconnects an item with a DELETE, and takes a 404 as already done', async () => {
      // Any 2xx is a done delete, whatever its body: here one with data, as connect's.
      const { sut, calls } = gateway([connected, bluumError(404, 'BLUM-404-001')]);
      await expect(
        sut.disconnectItem('acct_1', { itemId: 'item_1', bluumFundingSourceId: 'fs/1' }),
      ).resolves.toBeUndefined();
      await expect(
        sut.disconnectItem('acct_1', { itemId: 'item_1', bluumFundingSourceId: 'fs/1' }),
      ).resolves.toBeUndefined();
      expect(calls).toHaveLength(2);
      expect(calls[0]).toMatchObject({
        method: 'DELETE',
        url: 'https://bluum.test/v1/accounts/acct_1/funding-sources/fs%2F1?type=plaid',
      });
    });

    it('exchanges the public token as public_token, without doubling a /v1 base URL', async () => {
      const { sut, calls } = gateway(connected, 'https://bluum.test/v1/');
      await expect(sut.exchangePublicToken('acct_1', PUBLIC_TOKEN)).resolves.toMatchObject({
        itemId: 'item_1',
      });
      expect(calls[0]).toMatchObject({
        url: 'https://bluum.test/v1/accounts/acct_1/funding-sources/plaid/connect',
        data: { public_token: PUBLIC_TOKEN },
      });
    });
  });

  describe('the path of each call', () => {
    // encodeURIComponent leaves `.` and `..` as they are, and a URL parser resolves them: an id of `..`
    // would turn /v1/accounts/../funding-sources/plaid/link-token into /v1/funding-sources/plaid/link-token.
    const calls: [string, (sut: HttpBluumGateway, accountId: string, id: string) => Promise<unknown>][] = [
      ['link-token', (sut, accountId) => sut.createLinkToken(accountId, { enableHostedLink: true })],
      ['connect', (sut, accountId) => sut.exchangePublicToken(accountId, PUBLIC_TOKEN)],
      ['list', (sut, accountId) => sut.listItems(accountId)],
      [
        'disconnect',
        (sut, accountId, id) => sut.disconnectItem(accountId, { itemId: 'item_1', bluumFundingSourceId: id }),
      ],
    ];
    const unsafe: [string, string, string][] = [
      ['an account id of ..', '..', 'fs_1'],
      ['an account id of .', '.', 'fs_1'],
      ['an empty account id', '', 'fs_1'],
    ];

    it.each(
      calls.flatMap(([name, call]) =>
        unsafe.map(([what, accountId, id]) => [name, what, call, accountId, id] as const),
      ),
    )(
      '%s with %s: refused with BLUUM_ID_UNSAFE (502), and Bluum is never called',
      async (_name, _what, call, accountId, id) => {
        for (const baseUrl of ['https://bluum.test', 'https://bluum.test/api/v1']) {
          const { sut, calls: sent, metrics } = gateway([], baseUrl);
          const error = await failure(call(sut, accountId, id));
          expect(error).toMatchObject({ code: 'BLUUM_ID_UNSAFE', status: 502 });
          expect(sent).toHaveLength(0);
          expect(await metrics.registry.metrics()).toContain('outcome="BLUUM_ID_UNSAFE"');
        }
      },
    );

    it.each([
      ['..', 'an id of ..'],
      ['.', 'an id of .'],
      ['', 'an empty id'],
    ])('disconnect with funding source id %j (%s): refused, and Bluum is never called', async (id) => {
      const { sut, calls: sent } = gateway([]);
      const error = await failure(
        sut.disconnectItem('acct_1', { itemId: 'item_1', bluumFundingSourceId: id }),
      );
      expect(error).toMatchObject({ code: 'BLUUM_ID_UNSAFE', status: 502 });
      expect(sent).toHaveLength(0);
    });

    it('still calls Bluum for ids with dots inside, each kept as one segment', async () => {
      const { sut, calls: sent } = gateway([linkToken('link-1'), { status: 204, data: '' }]);
      await sut.createLinkToken('acct.1', { enableHostedLink: false });
      await sut.disconnectItem('acct..x', { itemId: 'item_1', bluumFundingSourceId: 'fs...1' });
      expect(sent.map((call) => call.url)).toEqual([
        'https://bluum.test/v1/accounts/acct.1/funding-sources/plaid/link-token',
        'https://bluum.test/v1/accounts/acct..x/funding-sources/fs...1?type=plaid',
      ]);
    });
  });

  describe('failures', () => {
    const cases: [string, Reply, string][] = [
      ['a 200 that is not JSON', { status: 200, data: '<html>hi</html>' }, 'BLUUM_BAD_RESPONSE'],
      ['a 200 without the envelope', { status: 200, data: JSON.stringify({ item }) }, 'BLUUM_BAD_RESPONSE'],
      ['a 200 whose item is malformed', success({ item: { itemId: 'x' } }), 'BLUUM_BAD_RESPONSE'],
      ['401', bluumError(401), 'BLUUM_UNAVAILABLE'],
      ['403', bluumError(403), 'BLUUM_UNAVAILABLE'],
      ['429', bluumError(429), 'BLUUM_UNAVAILABLE'],
      ['500', bluumError(500), 'BLUUM_UNAVAILABLE'],
      ['503 as HTML', { status: 503, data: '<html>down</html>' }, 'BLUUM_UNAVAILABLE'],
      ['404 with the envelope', bluumError(404, 'BLUM-404-001'), 'BLUUM_REQUEST_REJECTED'],
      ['409 with the envelope', bluumError(409), 'BLUUM_REQUEST_REJECTED'],
      ['404 without the envelope', { status: 404, data: 'Not Found' }, 'BLUUM_BAD_RESPONSE'],
      ['a redirect', { status: 302, data: '' }, 'BLUUM_BAD_RESPONSE'],
      ['a timeout (ECONNABORTED)', { error: { code: 'ECONNABORTED' } }, 'BLUUM_TIMEOUT'],
      ['a timeout (ETIMEDOUT)', { error: { code: 'ETIMEDOUT' } }, 'BLUUM_TIMEOUT'],
      ['an aborted call', { error: { code: 'ERR_CANCELED' } }, 'BLUUM_TIMEOUT'],
      ['a refused connection', { error: { code: 'ECONNREFUSED' } }, 'BLUUM_UNAVAILABLE'],
      ['a reset connection', { error: { code: 'ECONNRESET' } }, 'BLUUM_UNAVAILABLE'],
      ['an oversized reply', { error: { code: 'ERR_FR_MAX_BODY_LENGTH_EXCEEDED' } }, 'BLUUM_BAD_RESPONSE'],
    ];

    it.each(cases)('connect: %s → %s, with no secret in the message', async (_name, reply, code) => {
      const { sut, calls } = gateway(reply);
      const error = await failure(sut.exchangePublicToken('acct_1', PUBLIC_TOKEN));
      expect(error.code).toBe(code);
      for (const secret of SECRETS) expect(error.message).not.toContain(secret);
      expect(calls).toHaveLength(1);
    });

    // A 100 ms budget leaves no room for a retry, so each case is one call.
    it.each([
      ...cases,
      ['400 with the envelope', bluumError(400, 'BLUM-400-001'), 'BLUUM_REQUEST_REJECTED'],
    ] as [string, Reply, string][])(
      'link-token: %s → %s, with no secret in the message',
      async (_name, reply, code) => {
        const { sut, calls } = gateway(reply, 'https://bluum.test', '100');
        const error = await failure(sut.createLinkToken('acct_1', { enableHostedLink: false }));
        expect(error.code).toBe(code);
        for (const secret of SECRETS) expect(error.message).not.toContain(secret);
        expect(calls).toHaveLength(1);
      },
    );

    it('turns a 400 with Bluum’s envelope on connect into PUBLIC_TOKEN_REJECTED (422)', async () => {
      const { sut } = gateway(bluumError(400, 'BLUM-400-002'));
      const error = await failure(sut.exchangePublicToken('acct_1', PUBLIC_TOKEN));
      expect(error).toMatchObject({
        code: 'PUBLIC_TOKEN_REJECTED',
        status: 422,
        message: expect.stringContaining('BLUM-400-002'),
      });
      for (const secret of SECRETS) expect(error.message).not.toContain(secret);
    });

    it('answers 502 for Bluum failures and 504 for its timeouts', async () => {
      await expect(
        gateway(bluumError(503)).sut.exchangePublicToken('acct_1', PUBLIC_TOKEN),
      ).rejects.toMatchObject({
        code: 'BLUUM_UNAVAILABLE',
        status: 502,
      });
      await expect(
        gateway({ error: { code: 'ETIMEDOUT' } }).sut.exchangePublicToken('acct_1', PUBLIC_TOKEN),
      ).rejects.toMatchObject({ code: 'BLUUM_TIMEOUT', status: 504 });
    });

    it('never retries connect', async () => {
      const { sut, calls } = gateway([bluumError(503), connected]);
      await expect(sut.exchangePublicToken('acct_1', PUBLIC_TOKEN)).rejects.toMatchObject({
        code: 'BLUUM_UNAVAILABLE',
      });
      expect(calls).toHaveLength(1);
    });

    it('retries link-token after 5xx, 429 and a reset connection, each attempt within the remaining budget', async () => {
      const { sut, calls } = gateway([
        bluumError(503),
        { status: 429, data: '{}', headers: { 'retry-after': '0' } },
        { error: { code: 'ECONNRESET' } },
        linkToken('link-2'),
      ]);
      await expect(sut.createLinkToken('acct_1', { enableHostedLink: false })).resolves.toMatchObject({
        linkToken: 'link-2',
      });
      expect(calls).toHaveLength(4);
      for (const call of calls) expect(call.timeout).toBeLessThanOrEqual(1500);
    });

    it("retries a request's list (sync, a disconnect's lookup) after a transient failure", async () => {
      const { sut, calls } = gateway([
        { status: 502, data: '<html>Bad Gateway</html>' },
        wire(listReply([])),
      ]);
      await expect(sut.listItems('acct_1')).resolves.toEqual([]);
      expect(calls).toHaveLength(2);
    });

    it("makes a background list one attempt, and hands it Bluum's Retry-After", async () => {
      const { sut, calls } = gateway([
        { status: 429, data: '{}', headers: { 'retry-after': '3' } },
        wire(listReply([])),
      ]);
      const error = await failure(sut.listItems('acct_1', { background: true }));
      expect(error).toMatchObject({ code: 'BLUUM_UNAVAILABLE', status: 502, retryAfterMs: 3_000 });
      expect(retryAfterOf(error)).toBe(3_000);
      expect(calls).toHaveLength(1);
      // Without Retry-After a 5xx hands on no pause and is not retried either; a 429 still asks for a second.
      const plain = gateway([bluumError(503), wire(listReply([]))]);
      const second = await failure(plain.sut.listItems('acct_1', { background: true }));
      expect(retryAfterOf(second)).toBeUndefined();
      expect(plain.calls).toHaveLength(1);
      const limited = gateway([bluumError(429), wire(listReply([]))]);
      expect(retryAfterOf(await failure(limited.sut.listItems('acct_1', { background: true })))).toBe(1_000);
    });

    it("keeps a Retry-After too long for the request's budget on the error it answers", async () => {
      const { sut, calls } = gateway([{ status: 429, data: '{}', headers: { 'retry-after': '60' } }]);
      const error = await failure(sut.listItems('acct_1'));
      expect(retryAfterOf(error)).toBe(60_000);
      expect(calls).toHaveLength(1);
    });

    it('abandons a background call when its signal aborts', async () => {
      const { sut, calls } = gateway(wire(listReply([])));
      const controller = new AbortController();
      controller.abort(new Error('shutdown'));
      await expect(sut.listItems('acct_1', { background: true, signal: controller.signal })).rejects.toThrow(
        'shutdown',
      );
      expect(calls).toHaveLength(0);
    });

    it('does not retry link-token when our credentials are refused or Bluum timed out', async () => {
      for (const reply of [
        bluumError(401),
        bluumError(403),
        { error: { code: 'ECONNABORTED' } },
      ] as Reply[]) {
        const { sut, calls } = gateway([reply, linkToken('x')]);
        await expect(sut.createLinkToken('acct_1', { enableHostedLink: false })).rejects.toMatchObject({
          code: 'error' in reply ? 'BLUUM_TIMEOUT' : 'BLUUM_UNAVAILABLE',
        });
        expect(calls).toHaveLength(1);
      }
    });

    it('turns a 400 on link-token into BLUUM_REQUEST_REJECTED: not a token problem', async () => {
      const { sut } = gateway(bluumError(400));
      await expect(sut.createLinkToken('acct_1', { enableHostedLink: true })).rejects.toMatchObject({
        code: 'BLUUM_REQUEST_REJECTED',
        status: 502,
      });
    });
  });

  // The same failures as Bluum sends them over a socket, through the real HTTP client: bodies that are
  // HTML or cut short, a reset connection, an answer later than the budget. The app's e2e spec
  // (test/bluum-failures.e2e-spec.ts) shows a few of them reaching the client with nothing stored.
  describe('failures over real HTTP', () => {
    /** What the local Bluum answers: a status and body, late, or a reset connection. */
    interface Answer {
      status?: number;
      body?: string | object;
      delayMs?: number;
      reset?: boolean;
    }
    let answer: Answer = {};
    let received = 0;
    const server = createServer((req, res) => {
      received++;
      req.resume();
      const { status = 200, body, delayMs = 0, reset } = answer;
      // unref: an answer nobody waits for any more must not hold the test process.
      setTimeout(() => {
        if (reset) return void req.socket.destroy();
        if (res.destroyed) return;
        const html = typeof body === 'string';
        res.writeHead(status, { 'content-type': html ? 'text/html' : 'application/json' });
        res.end(html ? body : JSON.stringify(body ?? errorReply(`BLUM-${status}-000`, 'injected')));
      }, delayMs).unref();
    });
    let baseUrl = '';
    // Room for a first connection on a loaded machine; the timeout case waits this long, no more.
    const TIMEOUT_MS = 800;
    const overHttp = () => build(new HttpService(axios.create()), baseUrl, String(TIMEOUT_MS)).sut;

    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    beforeEach(() => {
      answer = {};
      received = 0;
    });

    // [what Bluum does, the contract's status and code, the answer]
    const cases: [string, number, string, Answer][] = [
      ['500', 502, 'BLUUM_UNAVAILABLE', { status: 500 }],
      ['503 with an HTML page', 502, 'BLUUM_UNAVAILABLE', { status: 503, body: '<html>Unavailable</html>' }],
      ['401 (our credentials)', 502, 'BLUUM_UNAVAILABLE', { status: 401 }],
      ['403 (our credentials)', 502, 'BLUUM_UNAVAILABLE', { status: 403 }],
      ['429 (rate limited)', 502, 'BLUUM_UNAVAILABLE', { status: 429 }],
      [
        '404 for the account',
        502,
        'BLUUM_REQUEST_REJECTED',
        { status: 404, body: errorReply('BLUM-404-001', 'Account not found') },
      ],
      ['200 with an HTML body', 502, 'BLUUM_BAD_RESPONSE', { body: '<html>maintenance</html>' }],
      [
        '200 with truncated JSON',
        502,
        'BLUUM_BAD_RESPONSE',
        { body: '{"status":"success","data":{"item":{"itemId":"item_tr' },
      ],
      ['200 with an error envelope', 502, 'BLUUM_BAD_RESPONSE', { body: errorReply('X', 'odd') }],
      ['400 without Bluum’s envelope', 502, 'BLUUM_BAD_RESPONSE', { status: 400, body: '<html>Bad</html>' }],
      ['a reset connection', 502, 'BLUUM_UNAVAILABLE', { reset: true }],
      ['no answer within BLUUM_TIMEOUT_MS', 504, 'BLUUM_TIMEOUT', { delayMs: TIMEOUT_MS * 10 }],
    ];

    it.each<[string, number, string, Answer]>([
      ...cases,
      [
        '400 (a bad, used or expired token)',
        422,
        'PUBLIC_TOKEN_REJECTED',
        { status: 400, body: errorReply('BLUM-400-002', `Invalid public token ${PUBLIC_TOKEN}`) },
      ],
      [
        '200 without accounts',
        502,
        'BLUUM_BAD_RESPONSE',
        { body: { status: 'success', data: { item: { itemId: 'item_no_accounts', institutionName: 'X' } } } },
      ],
    ])(
      'connect, Bluum answers %s: %s %s, no secret in the message, one call',
      async (_name, status, code, given) => {
        answer = given;
        const error = await failure(overHttp().exchangePublicToken('acct_1', PUBLIC_TOKEN));
        expect({ status: error.status, code: error.code }).toEqual({ status, code });
        for (const secret of SECRETS) expect(error.message).not.toContain(secret);
        expect(received).toBe(1);
      },
    );

    it.each(cases)(
      'link-token, Bluum answers %s every time: %s %s within the budget, no secret in the message',
      async (_name, status, code, given) => {
        answer = given;
        const started = Date.now();
        const error = await failure(overHttp().createLinkToken('acct_1', { enableHostedLink: false }));
        expect({ status: error.status, code: error.code }).toEqual({ status, code });
        for (const secret of SECRETS) expect(error.message).not.toContain(secret);
        expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 5);
      },
    );
  });
});
