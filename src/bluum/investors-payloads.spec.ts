import { BluumPayloadError } from './bluum-payloads';
import {
  groupInvestorsRows,
  parseInvestorsConnect,
  parseInvestorsLinkToken,
  parseInvestorsPage,
} from './investors-payloads';
import { investorsLinkTokenReply, investorsList, investorsRow, wireFixture } from './wire-fixtures';

const row = (id: string, values: Record<string, unknown> = {}) => investorsRow({ id, ...values });

describe('investors payloads', () => {
  describe('parseInvestorsLinkToken', () => {
    it('reads the flat reply, and an http hosted URL only where allowed (the built-in sandbox)', () => {
      expect(parseInvestorsLinkToken(wireFixture('investors.link-token.hosted'))).toEqual({
        linkToken: 'link-sandbox-abc123def456',
        hostedLinkUrl: 'https://hosted.plaid.com/link/lp_abc123def456',
      });
      const plain = investorsLinkTokenReply('link-1', 'http://127.0.0.1:3000/sandbox/link');
      expect(() => parseInvestorsLinkToken(plain)).toThrow(BluumPayloadError);
      expect(parseInvestorsLinkToken(plain, { httpAllowed: true }).hostedLinkUrl).toBe(
        'http://127.0.0.1:3000/sandbox/link',
      );
    });

    it.each([null, [], 'link-1', { link_token: '' }, { status: 'error', link_token: 'x' }])(
      'refuses %j',
      (body) => {
        expect(() => parseInvestorsLinkToken(body)).toThrow(BluumPayloadError);
      },
    );
  });

  describe('parseInvestorsPage', () => {
    it('says whether Bluum has more, and how many entries the page held', () => {
      expect(parseInvestorsPage(investorsList([row('fs_1'), row('fs_2')], true))).toMatchObject({
        hasMore: true,
        entries: 2,
      });
      expect(parseInvestorsPage(investorsList([row('fs_1')], false))).toMatchObject({
        hasMore: false,
        entries: 1,
      });
      // A bare array has no has_more: it is the whole list.
      expect(parseInvestorsPage([row('fs_1')])).toMatchObject({ hasMore: false, entries: 1 });
    });

    it('counts a manual funding source in the page (the next offset) but reads only Plaid ones, whatever their case', () => {
      const page = parseInvestorsPage(
        investorsList([row('fs_1'), row('fs_m', { type: 'manual' }), row('fs_2', { type: 'PLAID' })], true),
      );
      expect(page.rows.map((r) => r.account.accountId)).toEqual(['fs_1', 'fs_2']);
      expect(page.entries).toBe(3);
    });

    // Read as an empty list, any of these would let a disconnect record a bank gone that Bluum still holds.
    it.each([
      ['an accounts-generation envelope', { status: 'success', data: { items: [] } }],
      ['an empty object', {}],
      ['a message', { message: 'ok' }],
      ['a row without a type', { data: [{ ...row('fs_1'), type: undefined }] }],
    ])('refuses %s rather than read it as no funding sources', (_name, body) => {
      expect(() => parseInvestorsPage(JSON.parse(JSON.stringify(body)))).toThrow(BluumPayloadError);
    });

    it('reads camelCase rows as their snake_case twins', () => {
      const camel = {
        id: 'fs_1',
        type: 'plaid',
        status: 'active',
        bankName: 'Chase Bank',
        providerId: 'item_1',
        accountName: 'Checking',
        accountType: 'depository',
        mask: '0000',
      };
      expect(parseInvestorsPage({ data: [camel], hasMore: false }).rows).toEqual([
        {
          itemId: 'item_1',
          institutionName: 'Chase Bank',
          account: {
            accountId: 'fs_1',
            fundingSourceId: 'fs_1',
            status: 'ACTIVE',
            accountName: 'Checking',
            accountType: 'depository',
            // Absent, as Bluum may leave it: not an error.
            accountSubtype: null,
            mask: '0000',
          },
        },
      ]);
    });

    it('keeps to the columns the accounts parser keeps to', () => {
      expect(() => parseInvestorsPage([row(`fs_${'a'.repeat(252)}`)])).not.toThrow();
      expect(() => parseInvestorsPage([row(`fs_${'a'.repeat(253)}`)])).toThrow(BluumPayloadError);
      expect(() => parseInvestorsPage([row('fs_1', { provider_id: 'i'.repeat(256) })])).toThrow(
        BluumPayloadError,
      );
      expect(() => parseInvestorsPage([row('fs_1', { account_type: 't'.repeat(65) })])).toThrow(
        BluumPayloadError,
      );
    });

    it.each<[string, unknown]>([
      ['null', null],
      ['a string', 'list'],
      ['an entry that is not an object', [null]],
      ['a status named like a prototype property', [row('fs_1', { status: 'constructor' })]],
    ])('refuses %s', (_name, body) => {
      expect(() => parseInvestorsPage(body)).toThrow(BluumPayloadError);
    });
  });

  describe('groupInvestorsRows', () => {
    it.each([
      [['active', 'disconnected'], 'ACTIVE'],
      [['error', 'active'], 'ACTIVE'],
      [['disconnected', 'error'], 'ERROR'],
      [['disconnected', 'disconnected'], 'DISCONNECTED'],
    ])('an item of rows %j is %s; each account keeps its own', (statuses, itemStatus) => {
      const { rows } = parseInvestorsPage(statuses.map((status, i) => row(`fs_${i}`, { status })));
      const [item] = groupInvestorsRows(rows);
      expect(item?.status).toBe(itemStatus);
      expect(item?.accounts.map((a) => a.status)).toEqual(statuses.map((s) => s.toUpperCase()));
    });
  });

  describe('parseInvestorsConnect', () => {
    it('makes the documented reply one item with no item-level or institution id', () => {
      expect(parseInvestorsConnect(wireFixture('investors.connect'))).toMatchObject({
        id: null,
        itemId: 'item_abc123',
        institutionId: null,
        institutionName: 'Chase Bank',
        status: 'ACTIVE',
      });
    });
  });
});
