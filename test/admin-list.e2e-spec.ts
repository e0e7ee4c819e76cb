// GET /v1/admin/funding-sources: admins only; filters; keyset pages that never skip or repeat a row.
import { type Api, testApi } from './support/api';
import { registerUser, startTestApp, type TestApp } from './support/test-app';
import { tokenFor } from './support/tokens';

describe('admin listing of funding sources', () => {
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    app = await startTestApp();
    api = testApi(app);
  });
  afterAll(() => app.close());

  const connect = async (userId: string) => (await api.as(userId).linkBank()).fundingSources;

  it('is for admins only', async () => {
    for (const token of [
      tokenFor('user_1'),
      tokenFor('svc', { scope: 'funding-sources:read users:write' }),
    ]) {
      const res = await api.withToken(token).listFundingSources();
      expect(res.status).toBe(403);
      expect(res.error.code).toBe('FORBIDDEN');
    }
    expect((await api.withToken(undefined).listFundingSources()).status).toBe(401);
  });

  it('pages newest first without gaps or repeats while banks are linked between pages', async () => {
    const { userId } = await registerUser(app);
    const before: string[] = [];
    for (let i = 0; i < 3; i++) before.push(...(await connect(userId)).map((s) => s.id));

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.admin().listFundingSources({ userId, limit: 1, cursor });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['data', 'nextCursor']);
      seen.push(...res.body.data.map((s) => s.id));
      cursor = res.body.nextCursor;
      // Rows added mid-way are newer than every cursor: they belong to a later listing, not this one.
      if (pages++ === 0) await connect(userId);
    } while (cursor);

    expect(seen).toHaveLength(before.length);
    expect(new Set(seen)).toEqual(new Set(before));
    const all = await api.admin().listFundingSources({ userId });
    expect(all.body.data.length).toBeGreaterThan(before.length);
    const createdAt = all.body.data.map((s) => s.createdAt);
    expect([...createdAt].sort().reverse()).toEqual(createdAt);
  });

  it('filters by user, institution (contains, ignoring case) and status', async () => {
    const { userId } = await registerUser(app);
    const sources = [...(await connect(userId)), ...(await connect(userId))];
    const name = sources[0].institutionName;
    const needle = name.slice(1, 6).toUpperCase();
    const byInstitution = await api.admin().listFundingSources({ userId, institution: needle });
    expect(byInstitution.status).toBe(200);
    const expected = sources.filter((s) => s.institutionName.toUpperCase().includes(needle)).map((s) => s.id);
    expect(byInstitution.body.data.map((s) => s.id).sort()).toEqual(expected.sort());

    await api.as(userId).disconnect(sources[0].id);
    const disconnected = await api.admin().listFundingSources({ userId, status: 'disconnected' });
    expect(disconnected.body.data.map((s) => s.id)).toEqual([sources[0].id]);
    const active = await api.admin().listFundingSources({ userId, status: 'active' });
    expect(active.body.data.map((s) => s.id)).not.toContain(sources[0].id);
    const everything = await api.admin().listFundingSources({ userId });
    expect(everything.body.data).toHaveLength(sources.length);
  });

  describe('the institution filter takes %, _ and \\ literally', () => {
    let userId: string;
    const names = ['Bank_One', 'BankXOne', '100% Credit Union', 'Back\\slash Bank', 'Plain Bank'];
    const ids = new Map<string, string>();

    beforeAll(async () => {
      ({ userId } = await registerUser(app));
      for (const [i, institutionName] of names.entries()) {
        const item = await app.prisma.plaidItem.create({
          data: { userId, itemId: `item_literal_${i}_${userId}`, institutionName },
        });
        const account = await app.prisma.bankAccount.create({
          data: {
            plaidItemId: item.id,
            userId,
            accountId: `acc_literal_${i}`,
            name: 'Checking',
            type: 'depository',
            mask: '0000',
          },
        });
        ids.set(institutionName, account.id);
      }
    });

    const found = async (institution: string): Promise<string[]> => {
      const res = await api.admin().listFundingSources({ userId, institution });
      expect(res.status).toBe(200);
      const byId = new Map([...ids].map(([name, id]) => [id, name]));
      return res.body.data.map((s) => byId.get(s.id) as string).sort();
    };

    it.each([
      ['%', ['100% Credit Union']],
      ['%%', []],
      ['_', ['Bank_One']],
      ['k_o', ['Bank_One']],
      ['0%', ['100% Credit Union']],
      ['\\', ['Back\\slash Bank']],
      ['k\\s', ['Back\\slash Bank']],
      ['\\%', []],
      ['bank', ['Back\\slash Bank', 'Bank_One', 'BankXOne', 'Plain Bank']],
    ])('institution=%j finds only the names containing it as written', async (institution, expected) => {
      expect(await found(institution)).toEqual([...expected].sort());
    });

    it('institution=%25 does not match every row of every user', async () => {
      const res = await api.admin().listFundingSources('?institution=%25&limit=100');
      expect(res.status).toBe(200);
      const institutions = res.body.data.map((s) => s.institutionName);
      for (const name of institutions) expect(name).toContain('%');
      expect(institutions).toContain('100% Credit Union');
    });
  });

  it('pages by 50 unless told otherwise', async () => {
    const { userId } = await registerUser(app);
    const item = await app.prisma.plaidItem.create({
      data: { userId, itemId: `item_bulk_${userId}`, institutionName: 'Bulk Bank' },
    });
    await app.prisma.bankAccount.createMany({
      data: Array.from({ length: 53 }, (_, i) => ({
        plaidItemId: item.id,
        userId,
        accountId: `acc_${i}`,
        name: `Account ${i}`,
        type: 'depository',
        mask: String(i).padStart(4, '0'),
      })),
    });
    const first = await api.admin().listFundingSources({ userId });
    expect(first.body.data).toHaveLength(50);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api.admin().listFundingSources({ userId, cursor: first.body.nextCursor });
    expect(second.body.data).toHaveLength(3);
    expect(second.body.nextCursor).toBeNull();
  });

  it.each([
    ['limit=0', '?limit=0'],
    ['limit=101', '?limit=101'],
    ['limit=ten', '?limit=ten'],
    ['a forged cursor', `?cursor=${Buffer.from('["not a date","x"]').toString('base64url')}`],
    ['a cursor that is not base64 JSON', '?cursor=%25%25%25'],
    ['an unknown status', '?status=gone'],
    ['an unknown parameter', '?sort=asc'],
  ])('refuses %s with 400', async (_name, query) => {
    const res = await api.admin().listFundingSources(query);
    expect(res.status).toBe(400);
    expect(res.error.code).toBe('VALIDATION_FAILED');
  });
});
