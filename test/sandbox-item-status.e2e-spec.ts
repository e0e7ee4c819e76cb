// The sandbox's control route (development only): it changes what the sandbox's Bluum lists for an item,
// as Bluum would see a changed bank password or a revoked access, and the service learns of it only from
// Bluum's list (here its sync route; reconciliation reads the same list). Who may call it, and the
// bodies, items and users it refuses, are src/sandbox/sandbox-routes.spec.ts's.
import { basicAuthorization } from '../src/bluum/bluum-endpoint';
import { DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET } from '../src/config/app-config';
import { testApi, type Api } from './support/api';
import { registerUser, startTestApp, type TestApp } from './support/test-app';
import { adminToken, tokenFor } from './support/tokens';

// The sandbox's default Bluum credentials (development and tests).
const SANDBOX_BASIC = basicAuthorization(DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET);

interface SandboxListItem {
  id: string;
  itemId: string;
  status: string;
  updatedAt: string;
}

describe('POST /sandbox/users/{userId}/items/{itemId}/status', () => {
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    app = await startTestApp({ NODE_ENV: 'development' });
    api = testApi(app);
  });
  afterAll(() => app.close());

  const setStatus = (
    userId: string,
    itemId: string,
    body: unknown,
    token: string | null = tokenFor(userId),
  ) =>
    app.request(
      'POST',
      `/sandbox/users/${encodeURIComponent(userId)}/items/${encodeURIComponent(itemId)}/status`,
      {
        token: token ?? undefined,
        body,
      },
    );

  /**
   * The items the sandbox's Bluum lists for an account, read through its accounts-generation route in
   * both runs: the stand-in keeps one item store for both generations, and the control route changes
   * items. What the service makes of them is read through the app's own generation (its sync).
   */
  async function sandboxList(bluumAccountId: string): Promise<SandboxListItem[]> {
    const res = await app.request('GET', `/sandbox/bluum/v1/accounts/${bluumAccountId}/funding-sources`, {
      headers: { authorization: SANDBOX_BASIC },
    });
    expect(res.status).toBe(200);
    return res.body.data.items as SandboxListItem[];
  }

  /** A registered user with one linked sandbox item (one to three accounts). */
  async function linked(): Promise<{
    userId: string;
    bluumAccountId: string;
    itemId: string;
    accounts: number;
  }> {
    const { userId, bluumAccountId } = await registerUser(app);
    const { item, fundingSources } = await api.as(userId).linkBank();
    return { userId, bluumAccountId, itemId: item.itemId, accounts: fundingSources.length };
  }

  const storedStatuses = async (userId: string): Promise<string[]> => {
    const res = await api.as(userId).list({ status: 'all' });
    expect(res.status).toBe(200);
    return res.body.data.map((source) => source.status);
  };

  it("breaks an item in the sandbox's list and item read; the service takes ERROR only when it asks Bluum", async () => {
    const { userId, bluumAccountId, itemId, accounts } = await linked();
    const [before] = await sandboxList(bluumAccountId);
    expect(before).toMatchObject({ itemId, status: 'ACTIVE' });

    const broken = await setStatus(userId, itemId, { status: 'ERROR' });
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({ id: before.id, itemId, status: 'ERROR' });
    expect(Date.parse(broken.body.updatedAt as string)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));

    expect((await sandboxList(bluumAccountId)).map((item) => [item.itemId, item.status])).toEqual([
      [itemId, 'ERROR'],
    ]);
    const read = await app.request(
      'GET',
      `/sandbox/bluum/v1/accounts/${bluumAccountId}/funding-sources/${before.id}`,
      {
        headers: { authorization: SANDBOX_BASIC },
      },
    );
    expect(read.status).toBe(200);
    expect(read.body.data.status).toBe('ERROR');

    // Nothing of ours changed yet: Bluum tells no one, the service has to ask.
    expect(await storedStatuses(userId)).toEqual(Array(accounts).fill('active'));

    const synced = await api.as(userId).sync();
    expect(synced.status).toBe(200);
    expect(synced.body).toMatchObject({ added: 0, updated: accounts });
    expect(synced.body.data.map((source) => source.status)).toEqual(Array(accounts).fill('error'));
    expect(await storedStatuses(userId)).toEqual(Array(accounts).fill('error'));

    // Mended at Bluum: the next sync takes ACTIVE back.
    const mended = await setStatus(userId, itemId, { status: 'ACTIVE' });
    expect(mended.status).toBe(200);
    expect(mended.body.status).toBe('ACTIVE');
    expect((await api.as(userId).sync()).body.data.map((source) => source.status)).toEqual(
      Array(accounts).fill('active'),
    );
  });

  it('revokes an item (DISCONNECTED): the sync takes it, and an admin may do it for any user', async () => {
    const { userId, bluumAccountId, itemId, accounts } = await linked();
    const revoked = await setStatus(userId, itemId, { status: 'DISCONNECTED' }, adminToken());
    expect(revoked.status).toBe(200);
    expect((await sandboxList(bluumAccountId))[0].status).toBe('DISCONNECTED');
    const synced = await api.as(userId).sync();
    expect(synced.body.data.map((source) => source.status)).toEqual(Array(accounts).fill('disconnected'));
  });
});
