import type { HttpService } from '@nestjs/axios';
import type { AxiosRequestConfig } from 'axios';
import { of } from 'rxjs';
import { configSlice, loadConfig } from '../config/app-config';
import { AppError } from '../common/app-error';
import type { PrismaService } from '../database/prisma.service';
import { MetricsService } from '../metrics/metrics.service';
import { BluumBulkhead } from './bluum-bulkhead';
import { retryAfterOf } from './bluum-errors';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumHttp } from './bluum-http';
import { bluumGatewayFor } from './bluum.module';
import { HttpBluumGateway } from './http-bluum.gateway';
import { InvestorsBluumGateway, MAX_LIST_PAGES } from './investors-bluum.gateway';
import {
  investorsLinkTokenReply,
  investorsList,
  investorsRow,
  wireFixture,
  type WireBody,
} from './wire-fixtures';

const KEY = 'unit_key_abc';
const SECRET = 'unit_secret_xyz';
const BASIC = Buffer.from(`${KEY}:${SECRET}`).toString('base64');
const PUBLIC_TOKEN = 'public-sandbox-unit-0001';
const INV = 'inv_1a2b3c4d5e6f';
const BASE = `https://bluum.test/v1/investors/${INV}/funding-sources`;

type Reply = { status: number; data: string; headers?: Record<string, string> };

function configFor(version: string, timeoutMs = '1500') {
  return configSlice(
    loadConfig({
      NODE_ENV: 'test',
      BLUUM_BASE_URL: 'https://bluum.test',
      BLUUM_API_KEY: KEY,
      BLUUM_API_SECRET: SECRET,
      BLUUM_TIMEOUT_MS: timeoutMs,
      BLUUM_API_VERSION: version,
    }),
    'bluum',
  );
}

/**
 * The gateway BluumModule builds for BLUUM_API_VERSION=investors, on a strict fake HttpService that
 * answers each call with the next reply; a call past the last reply fails the test.
 */
function gateway(replies: Reply[], timeoutMs = '1500') {
  const queue = [...replies];
  const calls: AxiosRequestConfig[] = [];
  const http = {
    request: (config: AxiosRequestConfig) => {
      calls.push(config);
      const reply = queue.shift();
      if (!reply) throw new Error(`unexpected call ${calls.length} to Bluum`);
      return of(reply);
    },
  } as unknown as HttpService;
  const config = configFor('investors', timeoutMs);
  const metrics = new MetricsService({ pool: null, readPool: null } as unknown as PrismaService);
  const endpoint = new BluumEndpoint(config);
  const sut = bluumGatewayFor(
    config,
    new BluumHttp(http, endpoint, new BluumBulkhead(config, metrics), metrics),
    endpoint,
  );
  const sent = () => calls.map((call) => `${call.method} ${call.url}`);
  return { sut, calls, sent, metrics };
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

const wire = (body: unknown, status = 200, headers?: Record<string, string>): Reply => ({
  status,
  data: JSON.stringify(body),
  headers,
});
const noContent: Reply = { status: 204, data: '' };
const investorsError = (
  status: number,
  code = 'BLUM-400-001',
  param: string | null = 'investor_id',
): Reply => {
  const body = wireFixture('investors.error');
  return wire({ ...body, error: { ...(body.error as WireBody), code, param } }, status);
};

// Rows of made-up items: `provider_id` is Plaid's item id, `id` the bank account's funding source.
const row = (id: string, providerId = 'item_1', values: Record<string, unknown> = {}): WireBody =>
  investorsRow({ id, provider_id: providerId, ...values });

// What the documented connect reply (two accounts of one Chase item) is as the port's item.
const CHASE_ITEM = {
  id: null,
  itemId: 'item_abc123',
  institutionId: null,
  institutionName: 'Chase Bank',
  status: 'ACTIVE',
  accounts: [
    {
      accountId: 'fs_8f14e45fceea467a',
      fundingSourceId: 'fs_8f14e45fceea467a',
      status: 'ACTIVE',
      accountName: 'Plaid Checking',
      accountType: 'depository',
      accountSubtype: 'checking',
      mask: '0000',
    },
    {
      accountId: 'fs_9a0b1c2d3e4f5061',
      fundingSourceId: 'fs_9a0b1c2d3e4f5061',
      status: 'ACTIVE',
      accountName: 'Plaid Saving',
      accountType: 'depository',
      accountSubtype: 'savings',
      mask: '1111',
    },
  ],
};

describe('InvestorsBluumGateway', () => {
  it('is the adapter BLUUM_API_VERSION=investors selects; accounts, the default, keeps HttpBluumGateway', () => {
    expect(gateway([]).sut).toBeInstanceOf(InvestorsBluumGateway);
    const config = configSlice(
      loadConfig({
        NODE_ENV: 'test',
        BLUUM_BASE_URL: 'https://bluum.test',
        BLUUM_API_KEY: KEY,
        BLUUM_API_SECRET: SECRET,
      }),
      'bluum',
    );
    const metrics = new MetricsService({ pool: null, readPool: null } as unknown as PrismaService);
    const endpoint = new BluumEndpoint(config);
    const http = new BluumHttp({} as HttpService, endpoint, new BluumBulkhead(config, metrics), metrics);
    expect(bluumGatewayFor(config, http, endpoint)).toBeInstanceOf(HttpBluumGateway);
  });

  describe('link token', () => {
    it('asks with a POST under the investor, Basic auth and enable_hosted_link; reads the flat reply', async () => {
      const { sut, calls } = gateway([wire(investorsLinkTokenReply('link-1', null))]);
      await expect(sut.createLinkToken(INV, { enableHostedLink: false })).resolves.toEqual({
        linkToken: 'link-1',
        hostedLinkUrl: null,
      });
      expect(calls[0]).toMatchObject({
        method: 'POST',
        url: `${BASE}/plaid/link-token`,
        data: { enable_hosted_link: false },
        headers: expect.objectContaining({
          Authorization: `Basic ${BASIC}`,
          'Content-Type': 'application/json',
        }),
        maxRedirects: 0,
      });
    });

    it('reads the hosted URL, flat or wrapped in data or a success envelope, and sends completion_redirect_uri only when asked', async () => {
      const hosted = investorsLinkTokenReply('link-2', 'https://hosted.plaid.com/x');
      const { sut, calls } = gateway([
        wire(hosted),
        wire({ data: hosted }),
        wire({ status: 'success', data: hosted }),
      ]);
      const expected = { linkToken: 'link-2', hostedLinkUrl: 'https://hosted.plaid.com/x' };
      await expect(sut.createLinkToken(INV, { enableHostedLink: true })).resolves.toEqual(expected);
      await expect(
        sut.createLinkToken(INV, { enableHostedLink: true, completionRedirectUri: 'http://localhost:3000/' }),
      ).resolves.toEqual(expected);
      await expect(sut.createLinkToken(INV, { enableHostedLink: true })).resolves.toEqual(expected);
      expect(calls.map((call) => call.data)).toEqual([
        { enable_hosted_link: true },
        { enable_hosted_link: true, completion_redirect_uri: 'http://localhost:3000/' },
        { enable_hosted_link: true },
      ]);
    });

    it.each<[string, unknown]>([
      ['a hosted URL that is not https', investorsLinkTokenReply('link-1', 'javascript:alert(1)')],
      ['no link_token', { hosted_link_url: null }],
      ['an error status around data', { status: 'error', data: investorsLinkTokenReply('link-1', null) }],
    ])('refuses %s with BLUUM_BAD_RESPONSE, not retried', async (_name, body) => {
      const { sut, calls } = gateway([wire(body)]);
      const error = await failure(sut.createLinkToken(INV, { enableHostedLink: true }));
      expect(error).toMatchObject({ code: 'BLUUM_BAD_RESPONSE', status: 502 });
      expect(calls).toHaveLength(1);
    });

    it("maps Bluum's 400 for an investor id it does not take to BLUUM_REQUEST_REJECTED with its code", async () => {
      const { sut } = gateway([investorsError(400)], '100');
      const error = await failure(
        sut.createLinkToken('3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b', { enableHostedLink: false }),
      );
      expect(error).toMatchObject({ code: 'BLUUM_REQUEST_REJECTED', status: 502 });
      expect(error.message).toContain('BLUM-400-001');
    });
  });

  describe('connect', () => {
    it("exchanges the token as { type: plaid, public_token } and makes Bluum's rows one item", async () => {
      const { sut, calls } = gateway([wire(wireFixture('investors.connect'))]);
      await expect(sut.exchangePublicToken(INV, PUBLIC_TOKEN)).resolves.toEqual(CHASE_ITEM);
      expect(calls[0]).toMatchObject({
        method: 'POST',
        url: `${BASE}/connect`,
        data: { type: 'plaid', public_token: PUBLIC_TOKEN },
        headers: expect.objectContaining({ Authorization: `Basic ${BASIC}` }),
      });
    });

    it('takes the rows as a bare array, as { data } without object, or a single funding source', async () => {
      const rows = wireFixture('investors.connect').data as WireBody[];
      const { sut } = gateway([wire(rows), wire({ data: rows }), wire(rows[0])]);
      await expect(sut.exchangePublicToken(INV, PUBLIC_TOKEN)).resolves.toEqual(CHASE_ITEM);
      await expect(sut.exchangePublicToken(INV, PUBLIC_TOKEN)).resolves.toEqual(CHASE_ITEM);
      await expect(sut.exchangePublicToken(INV, PUBLIC_TOKEN)).resolves.toEqual({
        ...CHASE_ITEM,
        accounts: [CHASE_ITEM.accounts[0]],
      });
    });

    it("skips a manual funding source and derives the item's status from its rows'", async () => {
      const { sut } = gateway([
        wire(
          investorsList([
            row('fs_m', 'item_1', { type: 'manual' }),
            row('fs_1', 'item_1', { status: 'error' }),
            row('fs_2', 'item_1', { status: 'disconnected' }),
          ]),
        ),
        wire(investorsList([row('fs_3', 'item_1', { status: 'disconnected' })])),
      ]);
      const first = await sut.exchangePublicToken(INV, PUBLIC_TOKEN);
      expect(first.status).toBe('ERROR');
      expect(first.accounts.map((a) => [a.accountId, a.status])).toEqual([
        ['fs_1', 'ERROR'],
        ['fs_2', 'DISCONNECTED'],
      ]);
      await expect(sut.exchangePublicToken(INV, PUBLIC_TOKEN)).resolves.toMatchObject({
        status: 'DISCONNECTED',
      });
    });

    it.each<[string, unknown]>([
      ['rows of two Plaid items', investorsList([row('fs_1', 'item_1'), row('fs_2', 'item_2')])],
      ['a status Bluum does not document', investorsList([row('fs_1', 'item_1', { status: 'pending' })])],
      ['an upper-case status', investorsList([row('fs_1', 'item_1', { status: 'ACTIVE' })])],
      ['an id that is not one path segment', investorsList([row('fs/../1')])],
      ['an id of ..', investorsList([row('..')])],
      ['no rows', investorsList([])],
      ['manual rows only', investorsList([row('fs_m', 'item_1', { type: 'manual' })])],
      ['a row without provider_id', investorsList([row('fs_1', 'item_1', { provider_id: undefined })])],
      ['a mask longer than 16', investorsList([row('fs_1', 'item_1', { mask: '1'.repeat(17) })])],
      ['the same funding source twice', investorsList([row('fs_1'), row('fs_1')])],
      ['an error envelope with 200', wireFixture('investors.error')],
    ])('refuses %s with BLUUM_BAD_RESPONSE, in one call', async (_name, body) => {
      const { sut, calls, metrics } = gateway([wire(body)]);
      const error = await failure(sut.exchangePublicToken(INV, PUBLIC_TOKEN));
      expect(error).toMatchObject({ code: 'BLUUM_BAD_RESPONSE', status: 502 });
      expect(calls).toHaveLength(1);
      expect(await metrics.registry.metrics()).toContain(
        'bluum_call_duration_seconds_count{operation="connect",outcome="BLUUM_BAD_RESPONSE"} 1',
      );
    });

    it("turns a 400 in Bluum's error envelope into PUBLIC_TOKEN_REJECTED (422), and never retries", async () => {
      const rejected = gateway([investorsError(400, 'BLUM-400-002', null)]);
      const error = await failure(rejected.sut.exchangePublicToken(INV, PUBLIC_TOKEN));
      expect(error).toMatchObject({ code: 'PUBLIC_TOKEN_REJECTED', status: 422 });
      expect(error.message).toContain('BLUM-400-002');
      expect(error.message).not.toContain(PUBLIC_TOKEN);
      const blamingToken = gateway([investorsError(400, 'BLUM-400-003', 'public_token')]);
      await expect(blamingToken.sut.exchangePublicToken(INV, PUBLIC_TOKEN)).rejects.toMatchObject({
        code: 'PUBLIC_TOKEN_REJECTED',
      });
      // A 400 that blames the investor id is no fault of the token: opening Plaid Link again would not help.
      const blamingInvestor = gateway([investorsError(400, 'BLUM-400-001', 'investor_id')]);
      await expect(blamingInvestor.sut.exchangePublicToken(INV, PUBLIC_TOKEN)).rejects.toMatchObject({
        code: 'BLUUM_REQUEST_REJECTED',
      });

      const unavailable = gateway([
        investorsError(503, 'BLUM-503-001'),
        wire(wireFixture('investors.connect')),
      ]);
      await expect(unavailable.sut.exchangePublicToken(INV, PUBLIC_TOKEN)).rejects.toMatchObject({
        code: 'BLUUM_UNAVAILABLE',
      });
      expect(unavailable.calls).toHaveLength(1);
    });
  });

  describe('list', () => {
    it('lists Plaid funding sources with a GET and no body, grouped into items by provider_id', async () => {
      const { sut, calls } = gateway([
        wire(
          investorsList([
            row('fs_1', 'item_1'),
            row('fs_2', 'item_2', { bank_name: 'Bank Two' }),
            row('fs_3', 'item_1'),
          ]),
        ),
      ]);
      const items = await sut.listItems(INV);
      expect(
        items.map((item) => [item.itemId, item.institutionName, item.accounts.map((a) => a.accountId)]),
      ).toEqual([
        ['item_1', 'Chase Bank', ['fs_1', 'fs_3']],
        ['item_2', 'Bank Two', ['fs_2']],
      ]);
      expect(calls[0]).toMatchObject({
        method: 'GET',
        url: `${BASE}?type=plaid`,
        data: undefined,
        headers: expect.objectContaining({ Authorization: `Basic ${BASIC}` }),
      });
      expect(calls[0]?.headers).not.toHaveProperty('Content-Type');
    });

    it('follows has_more by offset, and groups an item split across pages', async () => {
      const { sut, sent } = gateway([
        wire(investorsList([row('fs_1', 'item_1'), row('fs_2', 'item_2')], true)),
        wire(investorsList([row('fs_3', 'item_1')], false)),
      ]);
      const items = await sut.listItems(INV);
      expect(items.map((item) => [item.itemId, item.accounts.map((a) => a.accountId)])).toEqual([
        ['item_1', ['fs_1', 'fs_3']],
        ['item_2', ['fs_2']],
      ]);
      expect(sent()).toEqual([`GET ${BASE}?type=plaid`, `GET ${BASE}?type=plaid&offset=2`]);
    });

    it(`reads at most ${MAX_LIST_PAGES} pages, and then answers BLUUM_BAD_RESPONSE rather than a part of the list`, async () => {
      const pages = Array.from({ length: MAX_LIST_PAGES + 1 }, (_, i) =>
        wire(investorsList([row(`fs_${i}`, `item_${i}`)], true)),
      );
      const { sut, calls } = gateway(pages);
      const error = await failure(sut.listItems(INV));
      expect(error.code).toBe('BLUUM_BAD_RESPONSE');
      expect(calls).toHaveLength(MAX_LIST_PAGES);
      expect(calls.at(-1)?.url).toBe(`${BASE}?type=plaid&offset=${MAX_LIST_PAGES - 1}`);
    });

    it.each<[string, Reply[]]>([
      ['has_more on an empty page', [wire(investorsList([], true))]],
      ['has_more that is not a boolean', [wire({ ...investorsList([row('fs_1')]), has_more: 'true' })]],
      [
        // An offset Bluum ignores: the same page again is refused at once, not after twenty pages.
        'the same funding source on two pages',
        [wire(investorsList([row('fs_1')], true)), wire(investorsList([row('fs_1')], true))],
      ],
    ])('refuses %s with BLUUM_BAD_RESPONSE', async (_name, replies) => {
      const { sut, calls } = gateway(replies);
      expect((await failure(sut.listItems(INV))).code).toBe('BLUUM_BAD_RESPONSE');
      expect(calls).toHaveLength(replies.length);
    });

    it("retries a request's list after a 429, waiting its Retry-After; background work's is one attempt with it", async () => {
      const listed = wire(investorsList([row('fs_1')]));
      const request = gateway([wire(wireFixture('investors.error'), 429, { 'retry-after': '0' }), listed]);
      await expect(request.sut.listItems(INV)).resolves.toHaveLength(1);
      expect(request.calls).toHaveLength(2);

      const background = gateway([wire(wireFixture('investors.error'), 429, { 'retry-after': '3' }), listed]);
      const error = await failure(background.sut.listItems(INV, { background: true }));
      expect(error.code).toBe('BLUUM_UNAVAILABLE');
      expect(retryAfterOf(error)).toBe(3_000);
      expect(background.calls).toHaveLength(1);
    });

    it.each<[string, string, Reply]>([
      ['401 (our credentials)', 'BLUUM_UNAVAILABLE', investorsError(401, 'BLUM-401-001')],
      ['403 (our credentials)', 'BLUUM_UNAVAILABLE', investorsError(403, 'BLUM-403-001')],
      ['400 (an investor id it does not take)', 'BLUUM_REQUEST_REJECTED', investorsError(400)],
      ['404 (no such investor)', 'BLUUM_REQUEST_REJECTED', investorsError(404, 'BLUM-404-001')],
      ['404 without the envelope', 'BLUUM_BAD_RESPONSE', { status: 404, data: 'Not Found' }],
    ])('answers %s with %s, no secret in the message', async (_name, code, reply) => {
      const { sut } = gateway([reply], '100');
      const error = await failure(sut.listItems(INV));
      expect(error.code).toBe(code);
      for (const secret of [KEY, SECRET, BASIC]) expect(error.message).not.toContain(secret);
    });

    it('refuses an investor id that is not one path segment before calling Bluum', async () => {
      for (const id of ['..', '.', '']) {
        const { sut, calls } = gateway([]);
        expect((await failure(sut.listItems(id))).code).toBe('BLUUM_ID_UNSAFE');
        expect((await failure(sut.createLinkToken(id, { enableHostedLink: false }))).code).toBe(
          'BLUUM_ID_UNSAFE',
        );
        expect(calls).toHaveLength(0);
      }
    });
  });

  describe('disconnect', () => {
    const item = { itemId: 'item_1', bluumFundingSourceId: null };
    const listing = wire(
      investorsList([
        row('fs_a', 'item_1'),
        row('fs_b', 'item_1', { status: 'disconnected' }),
        row('fs_other', 'item_2'),
        row('fs_c', 'item_1', { status: 'error' }),
      ]),
    );

    it("deletes each of the item's funding sources Bluum has not disconnected, one by one; a 204 or a 404 is done", async () => {
      const { sut, sent, calls } = gateway([listing, noContent, investorsError(404, 'BLUM-404-001')]);
      await expect(sut.disconnectItem(INV, item)).resolves.toBeUndefined();
      expect(sent()).toEqual([
        `GET ${BASE}?type=plaid`,
        `DELETE ${BASE}/fs_a?type=plaid`,
        `DELETE ${BASE}/fs_c?type=plaid`,
      ]);
      expect(calls[1]?.data).toBeUndefined();
      expect(calls[1]?.headers).toMatchObject({ Authorization: `Basic ${BASIC}` });
    });

    it('leaves an item Bluum does not list, or lists only disconnected, as it is', async () => {
      const { sut, sent } = gateway([
        listing,
        wire(investorsList([row('fs_b', 'item_1', { status: 'disconnected' })])),
      ]);
      await sut.disconnectItem(INV, { itemId: 'item_unknown', bluumFundingSourceId: null });
      await sut.disconnectItem(INV, item);
      expect(sent()).toEqual([`GET ${BASE}?type=plaid`, `GET ${BASE}?type=plaid`]);
    });

    it('never retries a DELETE, and stops at the first that fails', async () => {
      const { sut, sent } = gateway([listing, investorsError(503, 'BLUM-503-001'), noContent]);
      expect((await failure(sut.disconnectItem(INV, item))).code).toBe('BLUUM_UNAVAILABLE');
      expect(sent()).toEqual([`GET ${BASE}?type=plaid`, `DELETE ${BASE}/fs_a?type=plaid`]);
    });

    it("sends no DELETE when Bluum's list holds an id that is not one path segment", async () => {
      const { sut, calls } = gateway([wire(investorsList([row('fs%2F..', 'item_1')]))]);
      expect((await failure(sut.disconnectItem(INV, item))).code).toBe('BLUUM_BAD_RESPONSE');
      expect(calls).toHaveLength(1);
    });
  });
});
