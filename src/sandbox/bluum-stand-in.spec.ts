import { basicAuthorization } from '../bluum/bluum-endpoint';
import {
  deleteReply,
  errorReply,
  investorsLinkTokenReply,
  investorsList,
  investorsRow,
  listReply,
  overlay,
  successReply,
  type WireBody,
  wireFixture,
  wireItem,
} from '../bluum/wire-fixtures';
import {
  BluumStandIn,
  standInRoute,
  type StandInItem,
  type StandInLinking,
  type StandInOptions,
  type TokenRefusal,
} from './bluum-stand-in';

const BASIC = basicAuthorization('key', 'secret');
const ACCOUNTS = '/v1/accounts/acct_1/funding-sources';

/** Links `linked` for every token except those named in `refusals`. */
function linking(linked: () => StandInItem, refusals: Record<string, TokenRefusal> = {}): StandInLinking {
  return {
    issueLinkToken: ({ hosted, origin }) => ({
      linkToken: 'link-sandbox-1',
      hostedLinkUrl: hosted ? `${origin}/hosted/link-sandbox-1` : null,
    }),
    exchange: (publicToken) => refusals[publicToken] ?? linked(),
  };
}

const documentedItem = (id: string): StandInItem =>
  wireItem({ id, itemId: `item_${id}` }) as unknown as StandInItem;

function standIn(options: Partial<StandInOptions> = {}): BluumStandIn {
  let next = 0;
  return new BluumStandIn({
    linking: linking(() => documentedItem(`fs_${++next}`), { 'public-used': 'used' }),
    authorization: BASIC,
    ...options,
  });
}

const call = (
  fake: BluumStandIn,
  method: string,
  path: string,
  body?: unknown,
  authorization: string | null = BASIC,
) =>
  fake.handle({
    method,
    path,
    body,
    authorization: authorization ?? undefined,
    origin: 'http://127.0.0.1:1',
  });

describe('BluumStandIn', () => {
  it.each([
    ['no header', null],
    ['another key pair', basicAuthorization('key', 'other')],
    ['a bearer token', 'Bearer abc'],
  ])('answers 401 to %s when it knows the header to expect', (_name, authorization) => {
    expect(call(standIn(), 'GET', ACCOUNTS, undefined, authorization)).toEqual({
      status: 401,
      body: errorReply('BLUM-401-001', 'Invalid API credentials.'),
    });
  });

  it('takes any Basic credentials when it was given no header, and still refuses a call without', () => {
    const loose = standIn({ authorization: undefined });
    expect(call(loose, 'GET', ACCOUNTS, undefined, basicAuthorization('any', 'pair')).status).toBe(200);
    expect(call(loose, 'GET', ACCOUNTS, undefined, null).status).toBe(401);
  });

  it.each([
    [{}, 'enable_hosted_link must be a boolean.'],
    [{ enable_hosted_link: 'yes' }, 'enable_hosted_link must be a boolean.'],
  ])('refuses the link-token body %j with 400', (body, message) => {
    expect(call(standIn(), 'POST', `${ACCOUNTS}/plaid/link-token`, body)).toEqual({
      status: 400,
      body: errorReply('BLUM-400-001', message),
    });
  });

  it.each([
    ['not an absolute URL', '/relative'],
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['JavaScript: in mixed case', 'JavaScript:alert(1)//https://app.example.com/'],
    ['javascript: after a space', ' javascript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['file:', 'file:///etc/passwd'],
    ['vbscript:', 'vbscript:msgbox(1)'],
    ['ftp:', 'ftp://files.example.com/'],
    ['a number', 42],
  ])(
    'refuses a completion_redirect_uri that is %s, in its error envelope, with no link token',
    (_name, uri) => {
      const links = linking(() => documentedItem('fs_1'));
      const issue = jest.spyOn(links, 'issueLinkToken');
      const fake = new BluumStandIn({ linking: links, authorization: BASIC });
      const body = { enable_hosted_link: true, completion_redirect_uri: uri };
      expect(call(fake, 'POST', `${ACCOUNTS}/plaid/link-token`, body)).toEqual({
        status: 400,
        body: errorReply('BLUM-400-001', 'completion_redirect_uri must be an absolute http(s) URL.'),
      });
      expect(issue).not.toHaveBeenCalled();
    },
  );

  it('issues a link token, with the hosted URL only when asked for one', () => {
    const fake = standIn();
    const sdk = call(fake, 'POST', `${ACCOUNTS}/plaid/link-token`, { enable_hosted_link: false });
    const hosted = call(fake, 'POST', `${ACCOUNTS}/plaid/link-token`, { enable_hosted_link: true });
    expect(sdk.body?.data).toEqual({ link_token: 'link-sandbox-1', hosted_link_url: null });
    expect(hosted.body?.data).toEqual({
      link_token: 'link-sandbox-1',
      hosted_link_url: 'http://127.0.0.1:1/hosted/link-sandbox-1',
    });
  });

  it('links an item per public token under its account, and lists only that account its own', () => {
    const fake = standIn();
    const first = call(fake, 'POST', `${ACCOUNTS}/plaid/connect`, { public_token: 'public-a' });
    call(fake, 'POST', `${ACCOUNTS}/plaid/connect`, { public_token: 'public-b' });
    expect(first.status).toBe(200);
    expect((first.body?.data as { item: StandInItem }).item).toEqual(documentedItem('fs_1'));
    expect(call(fake, 'GET', ACCOUNTS)).toEqual({
      status: 200,
      body: listReply([documentedItem('fs_1'), documentedItem('fs_2')]),
    });
    expect(call(fake, 'GET', '/v1/accounts/acct_2/funding-sources')).toEqual({
      status: 200,
      body: listReply([]),
    });
  });

  it('lists in the format it is set to', () => {
    const fake = standIn();
    call(fake, 'POST', `${ACCOUNTS}/plaid/connect`, { public_token: 'public-a' });
    fake.listFormat = { key: 'funding_sources', snakeCase: true };
    const format = { key: 'funding_sources', snakeCase: true } as const;
    expect(call(fake, 'GET', ACCOUNTS).body).toEqual(listReply([documentedItem('fs_1')], format));
  });

  it.each([
    [{}, 'BLUM-400-001', 'public_token is required.'],
    [{ public_token: 'public-used' }, 'BLUM-400-003', 'The public token has already been exchanged.'],
  ])('refuses the connect body %j with 400 %s and links nothing', (body, code, message) => {
    const fake = standIn();
    expect(call(fake, 'POST', `${ACCOUNTS}/plaid/connect`, body)).toEqual({
      status: 400,
      body: errorReply(code, message),
    });
    expect(fake.list('acct_1')).toEqual([]);
  });

  it('reads one item in the success envelope, and answers 404 for an id it does not hold', () => {
    const fake = standIn();
    call(fake, 'POST', `${ACCOUNTS}/plaid/connect`, { public_token: 'public-a' });
    expect(call(fake, 'GET', `${ACCOUNTS}/fs_1`)).toEqual({
      status: 200,
      body: successReply(documentedItem('fs_1')),
    });
    expect(call(fake, 'GET', `${ACCOUNTS}/fs_9`)).toEqual({
      status: 404,
      body: errorReply('BLUM-404-001', 'Funding source not found.'),
    });
  });

  it.each([
    [false, { status: 200, body: deleteReply() }],
    [true, { status: 204, body: undefined }],
  ])(
    'disconnects an item (empty reply: %s) and keeps listing it, DISCONNECTED',
    (emptyDeleteReply, answer) => {
      const fake = standIn({ emptyDeleteReply });
      call(fake, 'POST', `${ACCOUNTS}/plaid/connect`, { public_token: 'public-a' });
      const before = fake.list('acct_1')[0].updatedAt as string;
      expect(call(fake, 'DELETE', `${ACCOUNTS}/fs_1`)).toEqual(answer);
      const [item] = fake.list('acct_1');
      expect(item.status).toBe('DISCONNECTED');
      expect(Date.parse(item.updatedAt as string)).toBeGreaterThan(Date.parse(before));
    },
  );

  it("leaves a spec's own item without updatedAt as it was given, but for its status", () => {
    const fake = standIn();
    fake.items.set('acct_1', [{ id: 'own', itemId: 'item_own', institutionName: 'Own Bank', accounts: [] }]);
    expect(call(fake, 'DELETE', `${ACCOUNTS}/own`).status).toBe(200);
    expect(fake.list('acct_1')).toEqual([
      { id: 'own', itemId: 'item_own', institutionName: 'Own Bank', accounts: [], status: 'DISCONNECTED' },
    ]);
  });

  it.each([
    ['POST', '/v1/accounts/acct_1/other'],
    ['PUT', `${ACCOUNTS}/fs_1`],
    ['GET', `${ACCOUNTS}/fs_1/accounts`],
    ['GET', `${ACCOUNTS}/plaid/connect`],
  ])('answers %s %s with 404, no such route', (method, path) => {
    expect(call(standIn(), method, path)).toEqual({
      status: 404,
      body: errorReply('BLUM-404-000', 'no such route'),
    });
  });

  it("sets an item's status found by its itemId, and finds nothing for another account", () => {
    const fake = standIn();
    call(fake, 'POST', `${ACCOUNTS}/plaid/connect`, { public_token: 'public-a' });
    expect(fake.setStatus('acct_1', 'item_fs_1', 'ERROR')?.status).toBe('ERROR');
    expect(fake.list('acct_1')[0].status).toBe('ERROR');
    expect(fake.setStatus('acct_2', 'item_fs_1', 'ACTIVE')).toBeUndefined();
  });
});

describe('BluumStandIn, the investors generation', () => {
  const INVESTOR = '/v1/investors/inv_1/funding-sources';
  const URL_OF = (investor: string) => `/v1/investors/${investor}/funding-sources`;

  /** A two-account item as Plaid links it at First Platypus Bank. */
  const twoAccounts = (n: number): StandInItem =>
    wireItem({
      id: `item-row-${n}`,
      itemId: `item_${n}`,
      institutionName: 'First Platypus Bank',
      status: 'ACTIVE',
      createdAt: '2026-01-21T10:30:00.000Z',
      updatedAt: '2026-01-21T10:30:00.000Z',
      accounts: [
        { accountId: `acc_${n}a`, accountName: 'Plaid Checking', accountSubtype: 'checking', mask: '0000' },
        { accountId: `acc_${n}b`, accountName: 'Plaid Saving', accountSubtype: 'savings', mask: '1111' },
      ],
    }) as unknown as StandInItem;

  function investors(): BluumStandIn {
    let next = 0;
    return new BluumStandIn({
      linking: linking(() => twoAccounts(++next), { 'public-used': 'used', 'public-old': 'expired' }),
      authorization: BASIC,
    });
  }

  /** The row Bluum lists for account `mask` of item `n`, with the id it was given. */
  const expectedRow = (n: number, mask: '0000' | '1111', id: unknown, status = 'active', updated?: unknown) =>
    investorsRow({
      id,
      created: Date.parse('2026-01-21T10:30:00.000Z') / 1000,
      status,
      bank_name: 'First Platypus Bank',
      mask,
      provider_id: `item_${n}`,
      account_name: mask === '0000' ? 'Plaid Checking' : 'Plaid Saving',
      account_type: 'depository',
      account_subtype: mask === '0000' ? 'checking' : 'savings',
      updated_at: updated ?? '2026-01-21T10:30:00.000Z',
    });

  const FS_ID = expect.stringMatching(/^fs_[0-9a-f]{16}$/);

  const error = (code: string, message: string, param: string | null = null): WireBody => {
    const body = wireFixture('investors.error');
    return { ...body, error: overlay(body.error as WireBody, { code, message, param }) };
  };

  const connect = (fake: BluumStandIn, token = 'public-a', investor = 'inv_1') =>
    call(fake, 'POST', `${URL_OF(investor)}/connect`, { type: 'plaid', public_token: token });

  const rowsOf = (answer: { body: WireBody | undefined }) => answer.body?.data as WireBody[];

  it.each([
    ['no header', null],
    ['another key pair', basicAuthorization('key', 'other')],
  ])('answers 401 to %s, in its error envelope', (_name, authorization) => {
    expect(call(investors(), 'GET', INVESTOR, undefined, authorization)).toEqual({
      status: 401,
      body: error('BLUM-401-001', 'Invalid API credentials.'),
    });
  });

  it('issues a flat link token, hosted only when asked, enable_hosted_link being optional', () => {
    const fake = investors();
    const path = `${INVESTOR}/plaid/link-token`;
    expect(call(fake, 'POST', path, { enable_hosted_link: false })).toEqual({
      status: 200,
      body: investorsLinkTokenReply('link-sandbox-1', null),
    });
    expect(call(fake, 'POST', path, {}).body).toEqual({
      link_token: 'link-sandbox-1',
      hosted_link_url: null,
    });
    expect(
      call(fake, 'POST', path, {
        enable_hosted_link: true,
        completion_redirect_uri: 'https://app.example.com/',
      }).body,
    ).toEqual({ link_token: 'link-sandbox-1', hosted_link_url: 'http://127.0.0.1:1/hosted/link-sandbox-1' });
  });

  it.each([
    [{ enable_hosted_link: 'yes' }, 'enable_hosted_link must be a boolean.', 'enable_hosted_link'],
    [
      { enable_hosted_link: true, completion_redirect_uri: 'javascript:alert(1)' },
      'completion_redirect_uri must be an absolute http(s) URL.',
      'completion_redirect_uri',
    ],
  ])('refuses the link-token body %j with 400 naming the field', (body, message, param) => {
    expect(call(investors(), 'POST', `${INVESTOR}/plaid/link-token`, body)).toEqual({
      status: 400,
      body: error('BLUM-400-001', message, param),
    });
  });

  it('connects a public token into one active row per bank account, in a list envelope', () => {
    const fake = investors();
    const answer = connect(fake);
    expect(answer).toEqual({
      status: 200,
      body: investorsList([expectedRow(1, '0000', FS_ID), expectedRow(1, '1111', FS_ID)], false, INVESTOR),
    });
    const [checking, saving] = rowsOf(answer);
    expect(checking.id).not.toBe(saving.id);
    // Kept under the investor as one item, its accounts as linked.
    expect(fake.list('inv_1')).toEqual([twoAccounts(1)]);
  });

  it.each([
    [{ public_token: 'public-a' }, 'type must be plaid.', 'BLUM-400-001', 'type'],
    [{ type: 'manual', bank_name: 'Chase' }, 'type must be plaid.', 'BLUM-400-001', 'type'],
    [{ type: 'plaid' }, 'public_token is required.', 'BLUM-400-001', 'public_token'],
    [
      { type: 'plaid', public_token: 'public-used' },
      'The public token has already been exchanged.',
      'BLUM-400-003',
      'public_token',
    ],
    [
      { type: 'plaid', public_token: 'public-old' },
      'The public token has expired.',
      'BLUM-400-004',
      'public_token',
    ],
  ])('refuses the connect body %j with 400 and links nothing', (body, message, code, param) => {
    const fake = investors();
    expect(call(fake, 'POST', `${INVESTOR}/connect`, body)).toEqual({
      status: 400,
      body: error(code, message, param),
    });
    expect(fake.list('inv_1')).toEqual([]);
  });

  it.each([
    ['POST', '/plaid/link-token', { enable_hosted_link: false }],
    ['POST', '/connect', { type: 'plaid', public_token: 'public-a' }],
    ['GET', '?type=plaid', undefined],
    ['GET', '/fs_1', undefined],
    ['DELETE', '/fs_1?type=plaid', undefined],
  ])('refuses %s …%s for an id without inv_ (a raw UUID) with 400, doing nothing', (method, rest, body) => {
    const fake = investors();
    const uuid = '123e4567-e89b-12d3-a456-426614174000';
    expect(call(fake, method, `${URL_OF(uuid)}${rest}`, body)).toEqual({
      status: 400,
      body: error('BLUM-400-001', 'Invalid investor id: expected an id prefixed with inv_.', 'investor_id'),
    });
    expect(fake.items.size).toBe(0);
  });

  it("lists every row of the investor's items under the same ids, and another investor's none", () => {
    const fake = investors();
    const first = rowsOf(connect(fake, 'public-a'));
    const second = rowsOf(connect(fake, 'public-b'));
    expect(call(fake, 'GET', `${INVESTOR}?type=plaid`)).toEqual({
      status: 200,
      body: investorsList([...first, ...second], false, INVESTOR),
    });
    expect(call(fake, 'GET', INVESTOR).body).toEqual(call(fake, 'GET', `${INVESTOR}?type=all`).body);
    expect(call(fake, 'GET', `${INVESTOR}?type=manual`).body).toEqual(investorsList([], false, INVESTOR));
    expect(call(fake, 'GET', URL_OF('inv_2')).body).toEqual(investorsList([], false, URL_OF('inv_2')));
    expect(call(fake, 'GET', `${INVESTOR}?type=wire`)).toEqual({
      status: 400,
      body: error('BLUM-400-001', 'type must be plaid, manual or all.', 'type'),
    });
  });

  it('reads one row, and answers 404 in its error envelope for an id the investor does not hold', () => {
    const fake = investors();
    const [checking] = rowsOf(connect(fake));
    connect(fake, 'public-b', 'inv_2');
    expect(call(fake, 'GET', `${INVESTOR}/${String(checking.id)}`)).toEqual({ status: 200, body: checking });
    const notFound = { status: 404, body: error('BLUM-404-001', 'Funding source not found.') };
    expect(call(fake, 'GET', `${INVESTOR}/fs_0000000000000000`)).toEqual(notFound);
    expect(call(fake, 'GET', `${URL_OF('inv_2')}/${String(checking.id)}`)).toEqual(notFound);
    expect(call(fake, 'DELETE', `${INVESTOR}/fs_0000000000000000?type=plaid`)).toEqual(notFound);
  });

  it('disconnects one row with 204 and keeps listing it; the item stays active while another row is', () => {
    const fake = investors();
    const [checking, saving] = rowsOf(connect(fake));
    expect(call(fake, 'DELETE', `${INVESTOR}/${String(checking.id)}?type=plaid`)).toEqual({
      status: 204,
      body: undefined,
    });
    expect(rowsOf(call(fake, 'GET', INVESTOR))).toEqual([
      expectedRow(1, '0000', checking.id, 'disconnected', expect.not.stringMatching(/^2026-01-21T10:30/)),
      saving,
    ]);
    expect(fake.list('inv_1')[0].status).toBe('ACTIVE');
  });

  it('revokes the item when its last active row is disconnected: every row of it disconnected', () => {
    const fake = investors();
    const [checking, saving] = rowsOf(connect(fake));
    const [other] = rowsOf(connect(fake, 'public-b'));
    call(fake, 'DELETE', `${INVESTOR}/${String(checking.id)}?type=plaid`);
    expect(call(fake, 'DELETE', `${INVESTOR}/${String(saving.id)}?type=plaid`).status).toBe(204);
    expect(fake.list('inv_1').map((item) => item.status)).toEqual(['DISCONNECTED', 'ACTIVE']);
    const statuses = rowsOf(call(fake, 'GET', INVESTOR)).map((row) => [row.id, row.status]);
    expect(statuses).toEqual([
      [checking.id, 'disconnected'],
      [saving.id, 'disconnected'],
      [other.id, 'active'],
      [expect.any(String), 'active'],
    ]);
    // Disconnecting a disconnected row again is done already.
    expect(call(fake, 'DELETE', `${INVESTOR}/${String(saving.id)}?type=plaid`).status).toBe(204);
  });

  it("moves every row with its item's status set on Bluum's side, a disconnected row included", () => {
    const fake = investors();
    const [checking] = rowsOf(connect(fake));
    call(fake, 'DELETE', `${INVESTOR}/${String(checking.id)}?type=plaid`);
    expect(fake.setStatus('inv_1', 'item_1', 'ERROR')?.status).toBe('ERROR');
    expect(rowsOf(call(fake, 'GET', INVESTOR)).map((row) => row.status)).toEqual(['error', 'error']);
    fake.setStatus('inv_1', 'item_1', 'ACTIVE');
    expect(rowsOf(call(fake, 'GET', INVESTOR)).map((row) => row.status)).toEqual(['active', 'active']);
  });

  it("lists a spec's own item as rows with ids that stay, and the item's own shape unchanged", () => {
    const fake = investors();
    const own: StandInItem = {
      itemId: 'item_own',
      institutionName: 'Own Bank',
      status: 'ERROR',
      accounts: [{ account_name: 'Own Checking', account_type: 'depository', mask: '9999' }],
    };
    fake.items.set('inv_1', [own]);
    const [row] = rowsOf(call(fake, 'GET', INVESTOR));
    expect(row).toMatchObject({
      id: FS_ID,
      status: 'error',
      provider_id: 'item_own',
      bank_name: 'Own Bank',
      account_name: 'Own Checking',
      account_subtype: null,
      mask: '9999',
      created: expect.any(Number),
    });
    expect(rowsOf(call(fake, 'GET', INVESTOR))).toEqual([row]);
    expect(call(fake, 'GET', '/v1/accounts/inv_1/funding-sources').body).toEqual(listReply([own]));
  });

  it('links an item a spec hands in snake_case through either generation, its rows read in that case', () => {
    const snake = {
      item_id: 'item_snake',
      institution_name: 'Snake Bank',
      status: 'ERROR',
      created_at: '2026-01-21T10:30:00.000Z',
      accounts: [{ account_name: 'Snake Checking', account_subtype: 'checking', mask: '4321' }],
    } as unknown as StandInItem;
    const fake = new BluumStandIn({ linking: linking(() => structuredClone(snake)), authorization: BASIC });
    const accounts = call(fake, 'POST', `${ACCOUNTS}/plaid/connect`, { public_token: 'public-a' });
    expect(accounts).toEqual({ status: 200, body: expect.objectContaining({ data: { item: snake } }) });
    const [row] = rowsOf(connect(fake));
    expect(row).toMatchObject({
      provider_id: 'item_snake',
      bank_name: 'Snake Bank',
      status: 'error',
      account_name: 'Snake Checking',
      mask: '4321',
      created: Date.parse('2026-01-21T10:30:00.000Z') / 1000,
    });
  });

  it.each([
    ['POST', '/v1/investors/inv_1/funding-sources/plaid/connect'],
    ['PUT', `${INVESTOR}/fs_1`],
    ['GET', `${INVESTOR}/fs_1/accounts`],
    ['POST', '/v1/investors/inv_1/other'],
  ])('answers %s %s with 404, no such route, in its error envelope', (method, path) => {
    expect(call(investors(), method, path)).toEqual({
      status: 404,
      body: error('BLUM-404-000', 'no such route'),
    });
  });
});

describe('standInRoute', () => {
  it.each([
    ['POST', '/v1/accounts/a%201/funding-sources/plaid/link-token', 'accounts', 'a 1', 'link-token', null],
    [
      'POST',
      '/v1/investors/inv_1/funding-sources/plaid/link-token',
      'investors',
      'inv_1',
      'link-token',
      null,
    ],
    ['POST', '/v1/accounts/a/funding-sources/plaid/connect', 'accounts', 'a', 'connect', null],
    ['POST', '/v1/investors/inv_1/funding-sources/connect', 'investors', 'inv_1', 'connect', null],
    ['GET', '/v1/accounts/a/funding-sources', 'accounts', 'a', 'list', null],
    ['GET', '/v1/investors/inv_1/funding-sources?type=plaid', 'investors', 'inv_1', 'list', null],
    ['GET', '/v1/accounts/a/funding-sources/fs%2F1', 'accounts', 'a', 'get', 'fs/1'],
    ['GET', '/v1/investors/inv_1/funding-sources/fs_1', 'investors', 'inv_1', 'get', 'fs_1'],
    ['DELETE', '/v1/accounts/a/funding-sources/f1?type=plaid', 'accounts', 'a', 'disconnect', 'f1'],
    [
      'DELETE',
      '/v1/investors/inv_1/funding-sources/fs_1?type=plaid',
      'investors',
      'inv_1',
      'disconnect',
      'fs_1',
    ],
    ['POST', '/v1/investors/inv_1/funding-sources/plaid/connect', 'investors', 'inv_1', null, null],
    ['GET', '/v1/accounts/a/other', 'accounts', 'a', null, null],
  ])('reads %s %s as %s, owner %j, %s', (method, path, generation, owner, operation, id) => {
    expect(standInRoute(method, path)).toMatchObject({ generation, owner, operation, id });
  });

  it.each([
    '/v1/other/a/funding-sources',
    '/v1/accounts/%E0%A4%A/funding-sources',
    '/accounts/a/funding-sources',
  ])('reads %s as no owner at all', (path) => {
    expect(standInRoute('GET', path)).toBeNull();
  });
});
