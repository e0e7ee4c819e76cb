import {
  BluumPayloadError,
  errorCode,
  parseConnectData,
  parseItem,
  parseLinkToken,
  parseListData,
  successData,
} from './bluum-payloads';
import { overlay, wireFixture, type WireBody, type WireFixtureName } from './wire-fixtures';

const account = {
  accountId: 'acc_1234567890',
  accountName: 'Checking Account',
  accountType: 'depository',
  mask: '0000',
};

// An account as parsed: the item shape's transfers take plaid_options, so no funding source id of its own.
const parsedAccount = { ...account, fundingSourceId: null };

// The item of a documented connect reply.
const documentedItem = (name: WireFixtureName): WireBody => successData(wireFixture(name)).item as WireBody;

// Every documented field, as the fixtures give them (only status is set, to check a non-default one).
const fullItem = {
  id: '123e4567-e89b-12d3-a456-426614174000',
  itemId: 'item_abc123',
  institutionId: 'ins_3',
  institutionName: 'Chase Bank',
  status: 'ERROR',
  accounts: [{ ...parsedAccount, accountSubtype: 'checking' }],
};

describe('Bluum payloads', () => {
  it("parses Bluum's minimal connect reply (connect.seed.json), where only the guaranteed fields are present", () => {
    expect(parseConnectData(successData(wireFixture('connect.seed')))).toEqual({
      id: null,
      itemId: 'item_abc123',
      institutionId: null,
      institutionName: 'Chase Bank',
      status: 'ACTIVE',
      accounts: [{ ...parsedAccount, accountSubtype: null }],
    });
  });

  it('parses the full documented item, in camelCase or snake_case', () => {
    const camel = overlay(documentedItem('connect.full'), { status: 'ERROR' });
    const snake = overlay(documentedItem('connect.full.snake'), { status: 'ERROR' });
    expect(parseItem(camel)).toEqual(fullItem);
    expect(parseItem(snake)).toEqual(fullItem);
  });

  it('parses a link token with or without a hosted URL', () => {
    expect(parseLinkToken(successData(wireFixture('link-token.sdk')))).toEqual({
      linkToken: 'link-sandbox-abc123def456',
      hostedLinkUrl: null,
    });
    expect(parseLinkToken(successData(wireFixture('link-token.hosted')))).toEqual({
      linkToken: 'link-sandbox-abc123def456',
      hostedLinkUrl: 'https://hosted.plaid.com/link/lp_abc123def456',
    });
    expect(() => parseLinkToken({ hosted_link_url: null })).toThrow(BluumPayloadError);
    expect(() => parseLinkToken({ link_token: 7 })).toThrow(BluumPayloadError);
  });

  it.each([
    ['null', null],
    ['a string', 'ok'],
    ['an error envelope', wireFixture('error.status')],
    ["the current API reference's error envelope", wireFixture('error.object')],
    ['a DELETE reply without data', wireFixture('delete.200')],
    ['success without data', { status: 'success' }],
    ['success with array data', { status: 'success', data: [] }],
    ['another status', { status: 'ok', data: {} }],
  ])('refuses %s as a success envelope', (_name, body) => {
    expect(() => successData(body)).toThrow(BluumPayloadError);
  });

  it('reads the code of an error envelope, and nothing else', () => {
    expect(errorCode(wireFixture('error.status'))).toBe('BLUM-400-002');
    expect(errorCode(wireFixture('connect.full'))).toBeNull();
    expect(errorCode(wireFixture('delete.200'))).toBeNull();
    expect(errorCode('<html>')).toBeNull();
    expect(errorCode({ status: 'error', code: 400 })).toBeNull();
    expect(errorCode(wireFixture('error.object'))).toBe('BLUM-400-005');
    expect(errorCode({ error: { type: 'invalid_request_error', message: 'no code' } })).toBeNull();
    expect(errorCode({ error: 'BLUM-400-005' })).toBeNull();
  });

  const item = { itemId: 'item_1', institutionName: 'Chase', accounts: [account] };
  it.each([
    ['no item', undefined],
    ['an item without itemId', { ...item, itemId: undefined }],
    ['an empty itemId', { ...item, itemId: '' }],
    ['a numeric institutionName', { ...item, institutionName: 5 }],
    ['accounts that are not an array', { ...item, accounts: {} }],
    ['an account without mask', { ...item, accounts: [{ ...account, mask: undefined }] }],
    ['an account that is a string', { ...item, accounts: ['acc'] }],
    ['a mask longer than 16 characters', { ...item, accounts: [{ ...account, mask: '0'.repeat(17) }] }],
    ['an itemId longer than 255 characters', { ...item, itemId: 'i'.repeat(256) }],
    ['an unknown status', { ...item, status: 'PENDING' }],
    ['a lowercase status', { ...item, status: 'active' }],
    ['a numeric status', { ...item, status: 1 }],
    ['accounts that are null', { ...item, accounts: null }],
    ['an account that is null', { ...item, accounts: [null] }],
    ['a numeric accountType', { ...item, accounts: [{ ...account, accountType: 1 }] }],
    ['an empty accountId', { ...item, accounts: [{ ...account, accountId: '' }] }],
    ['a numeric institutionId', { ...item, institutionId: 3 }],
    [
      'an accountType longer than 64 characters',
      { ...item, accounts: [{ ...account, accountType: 't'.repeat(65) }] },
    ],
    ['the same account twice', { ...item, accounts: [account, account] }],
  ])('refuses a connect reply with %s', (_name, value) => {
    expect(() => parseConnectData({ item: value })).toThrow(BluumPayloadError);
  });

  // The item's id goes into DELETE …/funding-sources/{id}: it must be one path segment, nothing else.
  const unsafeIds = [
    '..',
    '.',
    'a/b',
    '../accounts',
    'fs\\1',
    'fs%2F1',
    'fs?x=1',
    'fs#1',
    'fs 1',
    '.fs',
    'fs.',
    'a..b',
  ];
  it.each(unsafeIds)('refuses a connect reply whose item id is %j', (id) => {
    expect(() => parseConnectData({ item: { ...item, id } })).toThrow(BluumPayloadError);
    expect(() => parseConnectData({ item: { ...item, id } })).toThrow(/id is not a safe path segment/);
  });

  it.each(unsafeIds)('refuses a whole list when one item has the id %j', (id) => {
    const good = { ...item, id: 'fs_good' };
    expect(() => parseListData({ items: [good, { ...item, itemId: 'item_2', id }] })).toThrow(
      BluumPayloadError,
    );
  });

  it.each([
    ['fs_1', 'fs_1'],
    ['a UUID', '3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b'],
    ['single dots inside', 'a-b_c.d.1'],
    ['255 characters', 'f'.repeat(255)],
  ])('accepts an item id of %s', (_name, id) => {
    expect(parseConnectData({ item: { ...item, id } }).id).toBe(id);
    expect(parseListData({ items: [{ ...item, id }] })[0]?.id).toBe(id);
  });

  it('accepts strings right at the length limits', () => {
    const longest = {
      ...item,
      itemId: 'i'.repeat(255),
      accounts: [{ ...account, mask: '0'.repeat(16), accountType: 't'.repeat(64) }],
    };
    expect(parseConnectData({ item: longest })).toMatchObject({
      itemId: longest.itemId,
      accounts: [{ mask: '0'.repeat(16), accountType: 't'.repeat(64) }],
    });
  });

  it('refuses a hosted link URL that is not a string', () => {
    expect(() => parseLinkToken({ link_token: 'link-1', hosted_link_url: 42 })).toThrow(BluumPayloadError);
  });

  // Frontends redirect the browser to it as it is.
  it.each([
    ['https', 'https://hosted.plaid.com/link/lp_1', true, true],
    ['http (the built-in sandbox only)', 'http://127.0.0.1:3000/sandbox/link?token=link-1', false, true],
    ['javascript:', 'javascript:alert(document.cookie)', false, false],
    ['data:', 'data:text/html,<script>alert(1)</script>', false, false],
    ['ftp:', 'ftp://hosted.plaid.com/link', false, false],
    ['a relative URL', '/link/lp_1', false, false],
    ['a host new URL refuses', 'https://xn--a.com/', false, false],
  ])(
    'a hosted link URL over %s: from Bluum %s, from the sandbox %s',
    (_name, url, fromBluum, fromSandbox) => {
      const data = { link_token: 'link-1', hosted_link_url: url };
      for (const [httpAllowed, accepted] of [
        [false, fromBluum],
        [true, fromSandbox],
      ] as const) {
        if (accepted) expect(parseLinkToken(data, { httpAllowed }).hostedLinkUrl).toBe(url);
        else expect(() => parseLinkToken(data, { httpAllowed })).toThrow(BluumPayloadError);
      }
    },
  );

  it('takes a hosted link URL from Bluum only on a host of BLUUM_HOSTED_LINK_HOSTS; the sandbox, any', () => {
    const hostedLinkHosts = new Set(['hosted.plaid.com']);
    const reply = (url: string) => ({ link_token: 'link-1', hosted_link_url: url });
    const plaid = 'https://hosted.plaid.com/link/lp_1';
    expect(parseLinkToken(reply(plaid), { hostedLinkHosts }).hostedLinkUrl).toBe(plaid);
    for (const url of [
      'https://hosted.plaid.com.evil.example/link/lp_1',
      'https://evil.example/hosted.plaid.com',
      'https://user@evil.example/',
      'https://HOSTED.PLAID.COM.evil.example/',
    ]) {
      expect(() => parseLinkToken(reply(url), { hostedLinkHosts })).toThrow(BluumPayloadError);
    }
    // The parser's own host: upper case and a trailing port are still Plaid's host.
    expect(
      parseLinkToken(reply('https://HOSTED.plaid.com:443/link'), { hostedLinkHosts }).hostedLinkUrl,
    ).toBe('https://HOSTED.plaid.com:443/link');
    expect(parseLinkToken(reply('https://evil.example/'), { hostedLinkHosts: null }).hostedLinkUrl).toBe(
      'https://evil.example/',
    );
  });

  it.each(['items', 'fundingSources', 'funding_sources'])('reads a list under data.%s', (key) => {
    const snake = { item_id: 'item_2', institution_name: 'Bank', status: 'DISCONNECTED', accounts: [] };
    expect(parseListData({ [key]: [item, snake] })).toEqual([
      {
        id: null,
        itemId: 'item_1',
        institutionId: null,
        institutionName: 'Chase',
        status: 'ACTIVE',
        accounts: [{ ...parsedAccount, accountSubtype: null }],
      },
      {
        id: null,
        itemId: 'item_2',
        institutionId: null,
        institutionName: 'Bank',
        status: 'DISCONNECTED',
        accounts: [],
      },
    ]);
  });

  it.each([
    ['items', 'list.items'],
    ['items', 'list.items.snake'],
    ['fundingSources', 'list.fundingSources'],
    ['fundingSources', 'list.fundingSources.snake'],
    ['funding_sources', 'list.funding_sources'],
    ['funding_sources', 'list.funding_sources.snake'],
  ] as const)('reads the documented list under data.%s (%s)', (_key, name) => {
    expect(parseListData(successData(wireFixture(name)))).toEqual([{ ...fullItem, status: 'ACTIVE' }]);
  });

  it('refuses a list under no known key, or with a malformed item', () => {
    expect(() => parseListData({ data: [item] })).toThrow(BluumPayloadError);
    expect(() => parseListData({ items: {} })).toThrow(BluumPayloadError);
    expect(() => parseListData({ items: [item, { itemId: 'x' }] })).toThrow(BluumPayloadError);
  });
});
