// The sandbox's controllers on Fastify (through @nestjs/testing, with the app's own request pipeline and
// guard), the users faked and no database: the tables of cases behind the demo page, the hosted link and
// the item-status control route. The e2e specs keep a row or two of each over the real app.
import { APP_GUARD } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { adminToken, depositServiceToken, TEST_JWT_SECRET, tokenFor } from '../../test/support/tokens';
import { AuthGuard } from '../auth/auth.guard';
import { TokenVerifier } from '../auth/token-verifier';
import { basicAuthorization } from '../bluum/bluum-endpoint';
import { AppError } from '../common/app-error';
import { configSlice, DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET, loadConfig } from '../config/app-config';
import { AUTH_CONFIG, BLUUM_CONFIG } from '../config/config.module';
import { httpAdapter, useRequestPipeline } from '../http-pipeline';
import { UsersService } from '../users/users.service';
import { BluumSandboxController } from './bluum-sandbox.controller';
import { BluumSandboxStore } from './bluum-sandbox.store';
import { BluumStandIn } from './bluum-stand-in';
import { DemoController } from './demo.controller';
import { HostedLinkController } from './hosted-link.controller';
import { SandboxControlController } from './sandbox-control.controller';
import { SandboxPages } from './sandbox-pages';

const SANDBOX_BASIC = basicAuthorization(DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET);
const COMPLETION = 'https://app.example.com/banks/done';

/** A fake of UsersService's two calls the sandbox makes: users by id, each kept under its first account. */
class FakeUsers {
  readonly accounts = new Map<string, string>();
  readonly ensure = jest.fn((id: string, bluumAccountId: string) => {
    if (!this.accounts.has(id)) this.accounts.set(id, bluumAccountId);
    return Promise.resolve(this.record(id));
  });
  readonly require = jest.fn((id: string) => {
    if (!this.accounts.has(id)) return Promise.reject(new AppError('USER_NOT_FOUND', `No user ${id}.`));
    return Promise.resolve(this.record(id));
  });
  private record(id: string) {
    return { id, bluumAccountId: this.accounts.get(id) as string, createdAt: '', updatedAt: '' };
  }
}

describe("the sandbox's routes on Fastify", () => {
  let app: NestFastifyApplication;
  let standIn: BluumStandIn;
  const users = new FakeUsers();

  beforeAll(async () => {
    const config = loadConfig({ NODE_ENV: 'development', AUTH_JWT_SECRET: TEST_JWT_SECRET });
    const module = await Test.createTestingModule({
      controllers: [BluumSandboxController, HostedLinkController, DemoController, SandboxControlController],
      providers: [
        BluumSandboxStore,
        SandboxPages,
        {
          provide: BluumStandIn,
          inject: [BluumSandboxStore],
          useFactory: (linking: BluumSandboxStore) =>
            new BluumStandIn({ linking, authorization: SANDBOX_BASIC }),
        },
        { provide: UsersService, useValue: users },
        { provide: AUTH_CONFIG, useValue: configSlice(config, 'auth') },
        { provide: BLUUM_CONFIG, useValue: configSlice(config, 'bluum') },
        TokenVerifier,
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    }).compile();
    app = module.createNestApplication<NestFastifyApplication>(httpAdapter(config), {
      logger: false,
      bodyParser: false,
    });
    useRequestPipeline(app);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    standIn = app.get(BluumStandIn);
  });
  afterAll(() => app.close());

  const request = async (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await app.inject({
      method,
      url,
      headers,
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, headers: res.headers, text: res.body, body: safeJson(res.body) };
  };

  describe('pages', () => {
    it.each([
      ['/', 'text/html', 'data-testid="link-bank"'],
      ['/sandbox/link?token=x', 'text/html', 'data-testid="sandbox-username"'],
      ['/sandbox/assets/demo.js', 'text/javascript', '/plaid/link-token'],
      ['/sandbox/assets/link.js', 'text/javascript', '/sandbox/link/'],
      ['/sandbox/assets/sandbox.css', 'text/css', '.card'],
    ])('serves %s as %s with a strict content security policy', async (path, type, marker) => {
      const res = await request('GET', path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(`${type}; charset=utf-8`);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.text).toContain(marker);
    });

    it.each([
      '/sandbox/assets/demo.html',
      '/sandbox/assets/..%2Fsandbox.module.js',
      '/sandbox/assets/nope.js',
    ])('serves nothing else under /sandbox/assets: %s', async (path) => {
      const res = await request('GET', path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('ROUTE_NOT_FOUND');
    });
  });

  describe('POST /sandbox/demo-users', () => {
    it.each([
      ['a user id with a space', { userId: 'demo user' }],
      ['a user id of 129 characters', { userId: 'u'.repeat(129) }],
      ['a number', { userId: 42 }],
      ['an unknown field', { userId: 'demo-unknown-field', roles: ['admin'] }],
    ])('refuses %s with 400 and registers nobody', async (_name, body) => {
      users.ensure.mockClear();
      const res = await request('POST', '/sandbox/demo-users', body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(users.ensure).not.toHaveBeenCalled();
      expect(users.accounts.has(String(body.userId))).toBe(false);
    });

    it('makes up a user id when none is given', async () => {
      const first = await request('POST', '/sandbox/demo-users', {});
      const second = await request('POST', '/sandbox/demo-users', {});
      expect(first.status).toBe(201);
      expect(first.body.userId).toMatch(/^demo-[0-9a-f]{12}$/);
      expect(second.body.userId).not.toBe(first.body.userId);
    });
  });

  describe("the sandbox's Bluum connect", () => {
    // What the service answers for each (422 PUBLIC_TOKEN_REJECTED, nothing stored) is the gateway's spec
    // and test/bluum-failures.e2e-spec.ts.
    const connect = (account: string, publicToken: string) =>
      request(
        'POST',
        `/sandbox/bluum/v1/accounts/${account}/funding-sources/plaid/connect`,
        { public_token: publicToken },
        { authorization: SANDBOX_BASIC },
      );

    it.each([
      ['an expired public token', 'public-sandbox-expired-0123456789', 'BLUM-400-004'],
      ['a public token that is no sandbox token', 'public-nope', 'BLUM-400-002'],
    ])('refuses %s with 400 %s, linking nothing', async (_name, publicToken, code) => {
      const account = `acct_refused_${code}`;
      const res = await connect(account, publicToken);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: 'error', code });
      expect(standIn.list(account)).toEqual([]);
    });

    it('links a public token once, and refuses it again with 400 BLUM-400-003', async () => {
      const first = await connect('acct_twice', 'public-sandbox-twice-0001');
      expect(first.status).toBe(200);
      const again = await connect('acct_twice', 'public-sandbox-twice-0001');
      expect(again.status).toBe(400);
      expect(again.body).toMatchObject({ status: 'error', code: 'BLUM-400-003' });
      expect(standIn.list('acct_twice')).toHaveLength(1);
    });
  });

  describe('hosted link', () => {
    /** A link token from the sandbox's Bluum route, as the service's link-token route gets one. */
    async function hostedLinkToken(completionRedirectUri?: string): Promise<string> {
      const res = await request(
        'POST',
        '/sandbox/bluum/v1/accounts/acct_hosted/funding-sources/plaid/link-token',
        {
          enable_hosted_link: true,
          ...(completionRedirectUri ? { completion_redirect_uri: completionRedirectUri } : {}),
        },
        { authorization: SANDBOX_BASIC },
      );
      expect(res.status).toBe(200);
      return res.body.data.link_token as string;
    }

    const complete = (linkToken: string, password = 'pass_good', institutionId = 'ins_109510') =>
      request('POST', '/sandbox/link/complete', {
        link_token: linkToken,
        institution_id: institutionId,
        username: 'user_good',
        password,
      });

    it.each([
      ['an unknown link token', 'session', { link_token: 'link-sandbox-unknown' }, 'INVALID_LINK_TOKEN'],
      ['a missing link token', 'session', {}, 'INVALID_REQUEST'],
      ['a link token of the wrong type', 'exit', { link_token: 7 }, 'INVALID_REQUEST'],
      [
        'a completion with an unknown link token',
        'complete',
        { link_token: 'x', institution_id: 'ins_1', username: 'user_good', password: 'pass_good' },
        'INVALID_LINK_TOKEN',
      ],
    ])('answers %s with a Plaid-style 400', async (_name, path, body, code) => {
      const res = await request('POST', `/sandbox/link/${path}`, body);
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe(code);
    });

    it('refuses an institution the sandbox does not have, without ending the session', async () => {
      const linkToken = await hostedLinkToken(COMPLETION);
      const res = await complete(linkToken, 'pass_good', 'ins_999');
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('INVALID_INSTITUTION');
      expect((await complete(linkToken)).status).toBe(200);
    });

    it('sends the person back with status=exited on Cancel, and ends the session', async () => {
      const linkToken = await hostedLinkToken(COMPLETION);
      const res = await request('POST', '/sandbox/link/exit', { link_token: linkToken });
      expect(res.status).toBe(200);
      expect(res.body.redirect_to).toBe(`${COMPLETION}#status=exited`);
      expect((await complete(linkToken)).body.error_code).toBe('INVALID_LINK_TOKEN');
    });

    it.each(['http://localhost:5173/banks/done', COMPLETION])(
      'sends the person back to %s with the public token',
      async (uri) => {
        const done = await complete(await hostedLinkToken(uri));
        expect(done.status).toBe(200);
        expect(done.body.redirect_to).toBe(`${uri}#status=success&public_token=${done.body.public_token}`);
      },
    );

    it('has nowhere to send the person when no completion URI was given', async () => {
      const linkToken = await hostedLinkToken();
      const session = await request('POST', '/sandbox/link/session', { link_token: linkToken });
      expect(session.body.has_completion_redirect).toBe(false);
      const done = await complete(linkToken);
      expect(done.status).toBe(200);
      expect(done.body.redirect_to).toBeNull();
    });
  });

  describe("the sandbox's Bluum, investors generation", () => {
    const base = (investor: string) => `/sandbox/bluum/v1/investors/${investor}/funding-sources`;
    const bluum = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) =>
      request(method, url, body, { authorization: SANDBOX_BASIC });
    const investorsError = (code: string, message: string, param: string | null = null) => ({
      error: { type: 'invalid_request_error', code, message, param },
    });

    /** A bank linked through the hosted link at Tattersall (three accounts): the connect reply's rows. */
    async function linkTattersall(investor: string): Promise<Record<string, unknown>[]> {
      const token = await bluum('POST', `${base(investor)}/plaid/link-token`, {
        enable_hosted_link: true,
        completion_redirect_uri: COMPLETION,
      });
      expect(token.status).toBe(200);
      expect(token.body).toEqual({
        link_token: expect.stringMatching(/^link-sandbox-/),
        hosted_link_url: expect.stringMatching(/\/sandbox\/link\?token=link-sandbox-/),
      });
      const done = await request('POST', '/sandbox/link/complete', {
        link_token: token.body.link_token,
        institution_id: 'ins_109510',
        username: 'user_good',
        password: 'pass_good',
      });
      const connected = await bluum('POST', `${base(investor)}/connect`, {
        type: 'plaid',
        public_token: done.body.public_token,
      });
      expect(connected.status).toBe(200);
      return connected.body.data as Record<string, unknown>[];
    }

    it('links a bank as one active fs_ row per bank account, in a list envelope', async () => {
      const rows = await linkTattersall('inv_linked');
      expect(rows).toEqual(
        ['Plaid Checking', 'Plaid Saving', 'Plaid Money Market'].map((accountName) =>
          expect.objectContaining({
            id: expect.stringMatching(/^fs_[0-9a-f]{16}$/),
            object: 'funding_source',
            type: 'plaid',
            status: 'active',
            bank_name: 'Tattersall Federal Credit Union',
            provider_id: expect.stringMatching(/^item_/),
            account_name: accountName,
            account_type: 'depository',
            created: expect.any(Number),
          }),
        ),
      );
      expect(new Set(rows.map((row) => row.provider_id)).size).toBe(1);
      expect(Math.abs((rows[0].created as number) - Date.now() / 1000)).toBeLessThan(60);
      const list = await bluum('GET', `${base('inv_linked')}?type=plaid`);
      expect(list.body).toEqual({
        object: 'list',
        url: '/v1/investors/inv_linked/funding-sources',
        has_more: false,
        data: rows,
      });
    });

    it('answers 401 without the sandbox key pair, in the investors error envelope', async () => {
      const res = await request('GET', base('inv_auth'), undefined, {
        authorization: basicAuthorization('sandbox_key', 'wrong'),
      });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(investorsError('BLUM-401-001', 'Invalid API credentials.'));
    });

    it.each([
      ['not a sandbox token', 'public-token-1', 'BLUM-400-002', 'The public token is invalid.'],
      ['expired', 'public-sandbox-expired-00000001', 'BLUM-400-004', 'The public token has expired.'],
    ])('refuses a public token that is %s with 400, linking nothing', async (_name, token, code, message) => {
      const res = await bluum('POST', `${base('inv_refused')}/connect`, {
        type: 'plaid',
        public_token: token,
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(investorsError(code, message, 'public_token'));
      expect((await bluum('GET', base('inv_refused'))).body.data).toEqual([]);
    });

    it('refuses a public token used once already', async () => {
      const body = { type: 'plaid', public_token: 'public-sandbox-used-once-0001' };
      expect((await bluum('POST', `${base('inv_twice')}/connect`, body)).status).toBe(200);
      const again = await bluum('POST', `${base('inv_twice')}/connect`, body);
      expect(again.status).toBe(400);
      expect(again.body).toEqual(
        investorsError('BLUM-400-003', 'The public token has already been exchanged.', 'public_token'),
      );
    });

    it('disconnects rows with 204, keeps listing them, and revokes the item with its last active row', async () => {
      const rows = await linkTattersall('inv_delete');
      const ids = rows.map((row) => String(row.id));
      const statuses = async () =>
        ((await bluum('GET', base('inv_delete'))).body.data as { status: string }[]).map((row) => row.status);

      const first = await bluum('DELETE', `${base('inv_delete')}/${ids[0]}?type=plaid`);
      expect(first.status).toBe(204);
      expect(first.text).toBe('');
      expect(await statuses()).toEqual(['disconnected', 'active', 'active']);
      expect((await bluum('GET', `${base('inv_delete')}/${ids[0]}`)).body).toMatchObject({
        id: ids[0],
        status: 'disconnected',
      });

      expect((await bluum('DELETE', `${base('inv_delete')}/${ids[1]}?type=plaid`)).status).toBe(204);
      expect(standIn.list('inv_delete')[0].status).toBe('ACTIVE');
      expect((await bluum('DELETE', `${base('inv_delete')}/${ids[2]}?type=plaid`)).status).toBe(204);
      expect(await statuses()).toEqual(['disconnected', 'disconnected', 'disconnected']);
      expect(standIn.list('inv_delete')[0].status).toBe('DISCONNECTED');
    });

    it.each([
      ['GET', ''],
      ['DELETE', '?type=plaid'],
    ] as const)(
      'answers %s of an unknown funding source with 404, in the error envelope',
      async (method, query) => {
        await linkTattersall('inv_unknown');
        const res = await bluum(method, `${base('inv_unknown')}/fs_0123456789abcdef${query}`);
        expect(res.status).toBe(404);
        expect(res.body).toEqual(investorsError('BLUM-404-001', 'Funding source not found.'));
      },
    );

    it.each([
      ['a raw UUID', '123e4567-e89b-12d3-a456-426614174000'],
      ["an accounts generation's id", 'acct_1'],
    ])('refuses %s as the investor id with 400 naming investor_id', async (_name, id) => {
      const res = await bluum('POST', `${base(id)}/plaid/link-token`, { enable_hosted_link: false });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(
        investorsError(
          'BLUM-400-001',
          'Invalid investor id: expected an id prefixed with inv_.',
          'investor_id',
        ),
      );
    });

    it("sets an investor's item status through the control route: its rows follow", async () => {
      const rows = await linkTattersall('inv_controlled');
      users.accounts.set('user-investor', 'inv_controlled');
      const res = await request(
        'POST',
        `/sandbox/users/user-investor/items/${String(rows[0].provider_id)}/status`,
        { status: 'ERROR' },
        { authorization: `Bearer ${tokenFor('user-investor')}` },
      );
      expect(res.status).toBe(200);
      const listed = (await bluum('GET', base('inv_controlled'))).body.data as { status: string }[];
      expect(listed.map((row) => row.status)).toEqual(['error', 'error', 'error']);
    });
  });

  describe('POST /sandbox/users/{userId}/items/{itemId}/status', () => {
    /** A user whose sandbox account holds one ACTIVE item. */
    function userWithItem(name: string): { userId: string; account: string; itemId: string } {
      const userId = `user-${name}`;
      const account = `acct_${name}`;
      const itemId = `item_${name}`;
      users.accounts.set(userId, account);
      standIn.items.set(account, [
        { id: `fs_${name}`, itemId, institutionName: 'First Platypus Bank', status: 'ACTIVE', accounts: [] },
      ]);
      return { userId, account, itemId };
    }
    const setStatus = (
      userId: string,
      itemId: string,
      body: unknown,
      token: string | null = tokenFor(userId),
    ) =>
      request(
        'POST',
        `/sandbox/users/${userId}/items/${itemId}/status`,
        body,
        token === null ? {} : { authorization: `Bearer ${token}` },
      );

    it.each([
      ['a lowercase status', { status: 'error' }],
      ['an unknown status', { status: 'BROKEN' }],
      ['no status', {}],
      ['a number', { status: 3 }],
      ['an unknown field', { status: 'ERROR', reason: 'password' }],
    ])('refuses %s with 400 and leaves the item as it was', async (name, body) => {
      const { userId, account, itemId } = userWithItem(name.replace(/\W/g, '_'));
      const res = await setStatus(userId, itemId, body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.details).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: expect.any(String) })]),
      );
      expect(standIn.list(account)[0].status).toBe('ACTIVE');
    });

    it('sets the status the sandbox lists, for the user itself or an admin', async () => {
      const { userId, account, itemId } = userWithItem('mine');
      const broken = await setStatus(userId, itemId, { status: 'ERROR' });
      expect(broken.status).toBe(200);
      expect(broken.body).toMatchObject({ itemId, status: 'ERROR' });
      expect((await setStatus(userId, itemId, { status: 'DISCONNECTED' }, adminToken())).status).toBe(200);
      expect(standIn.list(account)[0].status).toBe('DISCONNECTED');
    });

    it.each([
      ['no token', null, 401, 'UNAUTHENTICATED'],
      ['another user', tokenFor('mallory'), 403, 'FORBIDDEN'],
      ['a deposit service', depositServiceToken(), 403, 'FORBIDDEN'],
    ])('answers %s %s, changing nothing', async (_who, token, status, code) => {
      const { userId, account, itemId } = userWithItem(`guarded_${status}_${String(token).length}`);
      const res = await setStatus(userId, itemId, { status: 'ERROR' }, token);
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      expect(standIn.list(account)[0].status).toBe('ACTIVE');
    });

    it("answers 404 for an item the sandbox does not hold, and for another user's item", async () => {
      const { userId, account } = userWithItem('asker');
      const unknown = await setStatus(userId, 'item_nosuchitem', { status: 'ERROR' });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ statusCode: 404, code: 'FUNDING_SOURCE_NOT_FOUND' });
      expect(unknown.body.message).toContain('item_nosuchitem');
      // Another user's item, named under this user's path (by an admin, who may call for anyone).
      const other = userWithItem('owner');
      const foreign = await setStatus(userId, other.itemId, { status: 'ERROR' }, adminToken());
      expect(foreign.status).toBe(404);
      expect(foreign.body.code).toBe('FUNDING_SOURCE_NOT_FOUND');
      expect(standIn.list(other.account)[0].status).toBe('ACTIVE');
      expect(standIn.list(account)[0].status).toBe('ACTIVE');
    });

    it('answers 404 USER_NOT_FOUND for a user nobody registered', async () => {
      const res = await setStatus('ghost', 'item_x', { status: 'ERROR' }, adminToken());
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('USER_NOT_FOUND');
    });

    it('refuses an item id that could not be one, with 400', async () => {
      const { userId, account } = userWithItem('dots');
      const res = await setStatus(userId, 'item.with.dots', { status: 'ERROR' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.details).toEqual([expect.objectContaining({ field: 'itemId' })]);
      expect(standIn.list(account)[0].status).toBe('ACTIVE');
    });
  });
});

/** The JSON body, or {} for a page. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read arbitrary fields
function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
