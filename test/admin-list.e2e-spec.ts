// GET /v1/admin/funding-sources: filters and keyset pages that never skip or repeat a row, over the whole app.
import { type Api, testApi } from './support/api';
import { registerUser, startTestApp, type TestApp } from './support/test-app';

describe('admin listing of funding sources', () => {
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    app = await startTestApp();
    api = testApi(app);
  });
  afterAll(() => app.close());

  const connect = async (userId: string) => (await api.as(userId).linkBank()).fundingSources;

  // Every paging rule is a medium spec; over HTTP, a cursor must go out and come back whole.
  it('pages the listing and the audit trail by the nextCursor it hands out, until null', async () => {
    const { userId } = await registerUser(app);
    const linked = [...(await connect(userId)), ...(await connect(userId))].map((s) => s.id);
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const res = await api.admin().listFundingSources({ userId, limit: 1, cursor });
      expect(res.status).toBe(200);
      pages.push(res.body.data.map((s) => s.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    // One row a page, each once (accounts stored by one connect share its time, ordered among
    // themselves by id).
    expect(pages.map((page) => page.length)).toEqual(linked.map(() => 1));
    expect(pages.flat().sort()).toEqual([...linked].sort());

    const events: string[] = [];
    cursor = null;
    do {
      const res = await api.admin().events(userId, { limit: 1, cursor });
      expect(res.status).toBe(200);
      events.push(...res.body.data.map((e) => e.fundingSourceId));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(events.sort()).toEqual([...linked].sort());
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

  // Paging, every filter and their combinations, and the literal %, _ and \ are medium specs; over HTTP,
  // a percent-encoded % must arrive as a literal % too.
  it('institution=%25 does not match every row of every user', async () => {
    const { userId } = await registerUser(app);
    const item = await app.prisma.plaidItem.create({
      data: { userId, itemId: `item_percent_${userId}`, institutionName: '100% Credit Union' },
    });
    await app.prisma.bankAccount.create({
      data: {
        plaidItemId: item.id,
        userId,
        accountId: 'acc_percent',
        name: 'Checking',
        type: 'depository',
        mask: '0000',
        // The item's fields every account carries (the read path reads bank_accounts alone).
        itemId: item.itemId,
        institutionName: item.institutionName,
      },
    });
    await app.prisma.institutionName.createMany({
      data: { name: item.institutionName },
      skipDuplicates: true,
    });
    await connect(userId);
    const res = await api.admin().listFundingSources('?institution=%25&limit=100');
    expect(res.status).toBe(200);
    const institutions = res.body.data.map((s) => s.institutionName);
    for (const name of institutions) expect(name).toContain('%');
    expect(institutions).toContain('100% Credit Union');
  });

  // Every malformed parameter is a row of src/common/validation-pipe.spec.ts and of
  // src/funding-sources/admin-funding-sources.controller.spec.ts (with who may call); over the whole app,
  // one shows the 400.
  it('refuses limit=101 with 400', async () => {
    const res = await api.admin().listFundingSources('?limit=101');
    expect(res.status).toBe(400);
    expect(res.error.code).toBe('VALIDATION_FAILED');
  });

  // A cursor that decodes but that this API never issued: PostgreSQL would refuse it (a 500 with its
  // error text in the log). Every rule, for every listing, is in page-cursor.spec.ts; over the whole app,
  // one shows the 400.
  it("refuses a cursor dated outside PostgreSQL's range with 400", async () => {
    const tampered = Buffer.from(
      JSON.stringify(['-271821-04-20T00:00:00.000Z', '00000000-0000-4000-8000-000000000001', '5:10:']),
    ).toString('base64url');
    const res = await api.admin().listFundingSources({ cursor: tampered });
    expect(res.status).toBe(400);
    expect(res.error.code).toBe('VALIDATION_FAILED');
    expect(res.error.details).toEqual([expect.objectContaining({ field: 'cursor' })]);
  });
});
