// Bearer authentication and the contract's who-may-call table, route by route; the users routes.
import { randomBytes } from 'node:crypto';
import { type Api, type ApiResponse, testApi, type UserRoutes } from './support/api';
import { registerUser, startTestApp, uniqueUserId, type TestApp } from './support/test-app';
import { adminToken, TEST_JWT_SECRET, tokenFor } from './support/tokens';

// One Bluum account belongs to one user: every user here gets an account of its own.
const freshAccount = (): string => `acct_${randomBytes(6).toString('hex')}`;

describe('authentication and users', () => {
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    app = await startTestApp();
    api = testApi(app);
  });
  afterAll(() => app.close());

  // Every malformed, expired or forged token is a row of src/auth/token-verifier.spec.ts, and of each
  // controller spec over HTTP (src/users/users.controller.spec.ts); over the whole app, one shows the 401.
  describe('bearer tokens', () => {
    it('answers 401 UNAUTHENTICATED in the envelope for a token signed with another secret', async () => {
      const { userId } = await registerUser(app);
      const forged = tokenFor(userId, { secret: 'another-secret-of-sufficient-length!!' });
      const res = await app.request('GET', `/v1/users/${userId}/funding-sources`, { token: forged });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'UNAUTHENTICATED',
        message: expect.any(String),
        requestId: expect.any(String),
      });
      expect(res.text).not.toContain(TEST_JWT_SECRET);
      expect(res.text).not.toContain(forged);
    });
  });

  describe('who may call what', () => {
    const routes: Record<string, (user: UserRoutes) => Promise<ApiResponse<unknown>>> = {
      putUser: (user) => user.putUser({ bluumAccountId: `acct_${user.userId}` }),
      getUser: (user) => user.getUser(),
      listSources: (user) => user.list(),
      getSource: (user) => user.get('00000000-0000-4000-8000-000000000000'),
      linkToken: (user) => user.linkToken(),
      adminList: (user) => api.withToken(tokenFor(user.userId)).listFundingSources(),
    };
    // Every caller against every route is a row of src/auth/auth.guard.spec.ts (the routes' own rules) and
    // of each controller spec over HTTP; over the whole app, the user itself shows the rules applied and
    // the 403's envelope. Allowed calls get past authorization (any status but 401/403); others get 403.
    const allowed: Record<string, boolean> = {
      putUser: false,
      getUser: true,
      listSources: true,
      getSource: true,
      linkToken: true,
      adminList: false,
    };

    it('the user itself', async () => {
      const userId = uniqueUserId();
      await api
        .admin()
        .user(userId)
        .putUser({ bluumAccountId: `acct_${userId}` });
      for (const [name, call] of Object.entries(routes)) {
        const res = await call(api.as(userId));
        if (allowed[name]) {
          expect({ name, refused: [401, 403].includes(res.status) }).toEqual({ name, refused: false });
        } else {
          expect({ name, status: res.status, code: res.error.code }).toEqual({
            name,
            status: 403,
            code: 'FORBIDDEN',
          });
        }
      }
    });
  });

  describe('PUT /v1/users/{userId}', () => {
    it('creates with 201, then answers 200 for the same or a changed account', async () => {
      const userId = uniqueUserId();
      const admin = api.admin().user(userId);
      const [first, second] = [freshAccount(), freshAccount()];
      const created = await admin.putUser({ bluumAccountId: first });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: userId,
        bluumAccountId: first,
        createdAt: expect.stringMatching(/Z$/),
        updatedAt: expect.stringMatching(/Z$/),
      });
      const same = await admin.putUser({ bluumAccountId: first });
      expect(same.status).toBe(200);
      expect(same.body).toEqual(created.body);
      const changed = await admin.putUser({ bluumAccountId: second });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({
        id: userId,
        bluumAccountId: second,
        createdAt: created.body.createdAt,
      });

      const got = await api.as(userId).getUser();
      expect(got.status).toBe(200);
      expect(got.body).toEqual(changed.body);
    });

    // Every malformed account id is a row of src/common/validation-pipe.spec.ts, and the route refuses
    // them before its service in src/users/users.controller.spec.ts; over the whole app, one shows that
    // the refusal stores nothing. The path ids the contract allows are that controller spec's too.
    it.each([
      // It would leave its path segment in Bluum's URL (`..` reached POST /v1/funding-sources/…).
      ['..', { bluumAccountId: '..' }],
    ])('rejects %s with 400 and stores nothing', async (_name, body) => {
      const userId = uniqueUserId();
      const res = await app.request('PUT', `/v1/users/${userId}`, { token: adminToken(), body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.details.length).toBeGreaterThan(0);
      expect(await app.prisma.user.count({ where: { id: userId } })).toBe(0);
    });

    it('answers 409 BLUUM_ACCOUNT_TAKEN for an account another user holds, and 200 for the same pair again', async () => {
      const holder = await registerUser(app);
      const writer = api.withToken(tokenFor('svc-users', { scope: 'users:write' }));
      const newcomer = uniqueUserId();
      const taken = await writer.user(newcomer).putUser({ bluumAccountId: holder.bluumAccountId });
      expect(taken.status).toBe(409);
      expect(taken.error).toMatchObject({ statusCode: 409, code: 'BLUUM_ACCOUNT_TAKEN' });
      expect(taken.text).not.toContain(holder.userId);
      expect((await api.admin().user(newcomer).getUser()).status).toBe(404);

      const other = await registerUser(app);
      const moved = await writer.user(other.userId).putUser({ bluumAccountId: holder.bluumAccountId });
      expect(moved.status).toBe(409);
      expect(moved.error.code).toBe('BLUUM_ACCOUNT_TAKEN');
      expect((await api.admin().user(other.userId).getUser()).body.bluumAccountId).toBe(other.bluumAccountId);

      const again = await writer.user(holder.userId).putUser({ bluumAccountId: holder.bluumAccountId });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id: holder.userId, bluumAccountId: holder.bluumAccountId });
    });

    // Every interleaving is a medium spec; over HTTP, the requests that lose the race get the 409 too.
    it('answers PUTs that race for one account with one success and 409s, never a 500', async () => {
      const contested = freshAccount();
      const registered = await Promise.all([registerUser(app), registerUser(app), registerUser(app)]);
      const ids = [...registered.map((u) => u.userId), uniqueUserId(), uniqueUserId(), uniqueUserId()];
      const results = await Promise.all(
        ids.map((id) => api.admin().user(id).putUser({ bluumAccountId: contested })),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200 || s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(ids.length - 1);
      for (const r of results.filter((res) => res.status === 409))
        expect(r.error.code).toBe('BLUUM_ACCOUNT_TAKEN');
    });
  });
});
