import { basicAuthorization } from '../bluum/bluum-endpoint';
import { deleteReply, errorReply, listReply, successReply, wireItem } from '../bluum/wire-fixtures';
import {
  BluumStandIn,
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
