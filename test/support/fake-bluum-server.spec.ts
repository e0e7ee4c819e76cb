// The e2e fault server on its own, over real HTTP: its faults meet a call by account (or investor) and by
// operation in both of Bluum's generations, so the specs of either gateway script the same failures.
import { basicAuthorization } from '../../src/bluum/bluum-endpoint';
import { investorsList, wireItem } from '../../src/bluum/wire-fixtures';
import { FakeBluum, type FakeItem } from './fake-bluum';

const CREDENTIALS = { apiKey: 'key', apiSecret: 'secret' };
const INVESTOR = '/v1/investors/inv_faults/funding-sources';
const ACCOUNT = '/v1/accounts/acct_faults/funding-sources';

describe('the fake Bluum server, both generations', () => {
  let bluum: FakeBluum;

  beforeAll(async () => {
    bluum = await FakeBluum.start({ credentials: CREDENTIALS });
  });
  afterAll(() => bluum.close());
  beforeEach(() => {
    bluum.reset();
    bluum.items.clear();
  });

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${bluum.url}${path}`, {
      method,
      headers: {
        authorization: basicAuthorization(CREDENTIALS.apiKey, CREDENTIALS.apiSecret),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  }

  const connectInvestor = () =>
    call('POST', `${INVESTOR}/connect`, { type: 'plaid', public_token: 'public-x' });

  it('records each call with its generation and operation, and counts an operation across both', async () => {
    await call('POST', `${ACCOUNT}/plaid/connect`, { public_token: 'public-a' });
    await connectInvestor();
    await call('GET', `${INVESTOR}?type=plaid`);
    expect(bluum.requests.map((r) => [r.method, r.generation, r.operation])).toEqual([
      ['POST', 'accounts', 'connect'],
      ['POST', 'investors', 'connect'],
      ['GET', 'investors', 'list'],
    ]);
    expect(bluum.calls('connect').map((r) => r.path)).toEqual([
      `${ACCOUNT}/plaid/connect`,
      `${INVESTOR}/connect`,
    ]);
  });

  it('links a scripted item as one row per bank account of it', async () => {
    const item = wireItem({
      itemId: 'item_scripted',
      institutionName: 'Tartan Bank',
      accounts: [
        { accountName: 'One', mask: '1234' },
        { accountName: 'Two', mask: '5678' },
      ],
    }) as unknown as FakeItem;
    bluum.nextConnectLinks(item);
    const res = await connectInvestor();
    expect(res.status).toBe(200);
    expect(res.body).toEqual(investorsList(bluum.rows('inv_faults'), false, INVESTOR));
    expect(bluum.rows('inv_faults')).toEqual([
      expect.objectContaining({ provider_id: 'item_scripted', bank_name: 'Tartan Bank', mask: '1234' }),
      expect.objectContaining({ provider_id: 'item_scripted', bank_name: 'Tartan Bank', mask: '5678' }),
    ]);
  });

  it('meets only the operation and investor a fault names; other calls pass it by', async () => {
    bluum.failNext({ status: 500, forOperation: 'connect', forAccount: 'inv_faults' });
    expect((await call('GET', INVESTOR)).status).toBe(200);
    expect((await call('POST', `${ACCOUNT}/plaid/connect`, { public_token: 'p' })).status).toBe(200);
    expect(
      (
        await call('POST', '/v1/investors/inv_other/funding-sources/connect', {
          type: 'plaid',
          public_token: 'p',
        })
      ).status,
    ).toBe(200);
    expect((await connectInvestor()).status).toBe(500);
    expect(bluum.items.get('inv_faults')).toBeUndefined();
    expect((await connectInvestor()).status).toBe(200);
  });

  it('loses the reply of an investors DELETE after the work: the row is disconnected at Bluum', async () => {
    const [row] = (await connectInvestor()).body?.data as { id: string }[];
    bluum.failNext({ status: 502, afterWork: true, forOperation: 'disconnect' });
    expect((await call('GET', `${INVESTOR}/${row.id}`)).status).toBe(200);
    expect((await call('DELETE', `${INVESTOR}/${row.id}?type=plaid`)).status).toBe(502);
    expect(bluum.rows('inv_faults')).toEqual([
      expect.objectContaining({ id: row.id, status: 'disconnected' }),
    ]);
  });

  it('meets a standing fault with the operation it names only, in both generations', async () => {
    bluum.failAll({ status: 503, forOperation: 'list' });
    expect((await call('GET', INVESTOR)).status).toBe(503);
    expect((await call('GET', ACCOUNT)).status).toBe(503);
    expect((await call('POST', `${INVESTOR}/plaid/link-token`, { enable_hosted_link: false })).status).toBe(
      200,
    );
  });
});
