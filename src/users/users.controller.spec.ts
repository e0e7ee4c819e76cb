// The users routes on Fastify, built as the app is (test/support/controller-app.ts), UsersService faked
// and no database: who may call them, which path ids and bodies reach the service, and the answers.
// test/auth-and-users.e2e-spec.ts keeps a row of each over the whole app, and what the database decides.
import { type ControllerApp, startControllerApp, strictFake } from '../../test/support/controller-app';
import { adminToken, depositServiceToken, tokenFor } from '../../test/support/tokens';
import { AppError } from '../common/app-error';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

const USER = 'user_1';
const record = (id: string, bluumAccountId = 'acct_1') => ({
  id,
  bluumAccountId,
  createdAt: '2026-01-22T10:00:00.000Z',
  updatedAt: '2026-01-22T10:00:00.000Z',
});

describe('UsersController on Fastify', () => {
  const users = {
    put: jest.fn((id: string, bluumAccountId: string) =>
      Promise.resolve({ user: record(id, bluumAccountId), created: true }),
    ),
    get: jest.fn((id: string) => Promise.resolve(record(id))),
  };
  let http: ControllerApp;

  beforeAll(async () => {
    http = await startControllerApp({
      controllers: [UsersController],
      providers: [{ provide: UsersService, useValue: strictFake<UsersService>('UsersService', users) }],
    });
  });
  afterAll(() => http.close());
  beforeEach(() => {
    users.put.mockClear();
    users.get.mockClear();
  });

  const put = (userId: string, body: unknown, token: string | undefined = adminToken()) =>
    http.request('PUT', `/v1/users/${userId}`, { token, body });
  const get = (userId: string, token: string | undefined = adminToken()) =>
    http.request('GET', `/v1/users/${userId}`, { token });

  describe('who may call what', () => {
    const callers: [string, string, { put: boolean; get: boolean }][] = [
      ['an admin', adminToken(), { put: true, get: true }],
      ['the user itself', tokenFor(USER), { put: false, get: true }],
      ['another user', tokenFor('user_2'), { put: false, get: false }],
      ['scope users:write', tokenFor('svc-users', { scope: 'users:write' }), { put: true, get: true }],
      ['scope funding-sources:read', depositServiceToken(), { put: false, get: false }],
      ['a non-admin role', tokenFor('svc-x', { roles: ['support'] }), { put: false, get: false }],
    ];

    it.each(callers)('%s', async (_who, token, allowed) => {
      const answers = {
        put: await put(USER, { bluumAccountId: 'acct_1' }, token),
        get: await get(USER, token),
      };
      for (const [route, res] of Object.entries(answers)) {
        const may = allowed[route as keyof typeof allowed];
        expect({ route, status: res.status, code: res.body.code }).toEqual(
          may
            ? { route, status: route === 'put' ? 201 : 200, code: undefined }
            : { route, status: 403, code: 'FORBIDDEN' },
        );
      }
      expect(users.put).toHaveBeenCalledTimes(allowed.put ? 1 : 0);
      expect(users.get).toHaveBeenCalledTimes(allowed.get ? 1 : 0);
    });
  });

  describe('bearer tokens', () => {
    it.each([
      ['no Authorization header', undefined],
      [
        'a wrong signature',
        { authorization: `Bearer ${tokenFor(USER, { secret: 'another-secret-of-32-chars!!' })}` },
      ],
      ['an expired token', { authorization: `Bearer ${tokenFor(USER, { expiresInSeconds: -60 })}` }],
      ['a Basic header', { authorization: 'Basic dXNlcjpwYXNz' }],
      ['a token whose sub is no user id', { authorization: `Bearer ${tokenFor('u'.repeat(129))}` }],
    ])('answers %s with 401 UNAUTHENTICATED in the envelope, echoing nothing', async (_name, headers) => {
      const res = await http.request('GET', `/v1/users/${USER}`, { headers });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'UNAUTHENTICATED',
        message: expect.any(String),
        requestId: res.headers['x-request-id'],
      });
      if (headers) expect(res.text).not.toContain(headers.authorization.replace(/^\w+ /, ''));
      expect(users.get).not.toHaveBeenCalled();
    });
  });

  describe('the path userId', () => {
    it.each([
      ['every character the contract allows', `auth0|A.b_c:d@e-x`],
      ['128 characters', `u${'x'.repeat(127)}`],
      ['one character', 'A'],
    ])('takes %s, percent-encoded as a client sends it', async (_name, userId) => {
      const res = await put(encodeURIComponent(userId), { bluumAccountId: 'acct_1' });
      expect(res.status).toBe(201);
      expect(res.body.id).toBe(userId);
      expect(users.put).toHaveBeenCalledWith(userId, 'acct_1');
      expect((await get(encodeURIComponent(userId))).status).toBe(200);
      expect(users.get).toHaveBeenCalledWith(userId);
    });

    it.each([
      ['129 characters', 'u'.repeat(129)],
      ['an encoded slash', '..%2Fadmin'],
      ['a space', 'a%20b'],
      ['unicode', 'us%C3%A9r'],
    ])('refuses %s with 400 naming userId, before the service', async (_name, userId) => {
      for (const res of [await put(userId, { bluumAccountId: 'acct_1' }), await get(userId)]) {
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'userId' }] });
      }
      expect(users.put).not.toHaveBeenCalled();
      expect(users.get).not.toHaveBeenCalled();
    });
  });

  describe('PUT /v1/users/{userId}', () => {
    it('answers 201 for a user created and 200 for one updated, with the service’s record', async () => {
      expect(await put(USER, { bluumAccountId: 'acct_1' })).toMatchObject({
        status: 201,
        body: record(USER, 'acct_1'),
      });
      users.put.mockResolvedValueOnce({ user: record(USER, 'acct_2'), created: false });
      expect(await put(USER, { bluumAccountId: 'acct_2' })).toMatchObject({
        status: 200,
        body: record(USER, 'acct_2'),
      });
    });

    // Every malformed account id is a row of src/common/validation-pipe.spec.ts; here the route refuses
    // them before its service.
    it.each([
      ['..', { bluumAccountId: '..' }, ['bluumAccountId']],
      ['a slash', { bluumAccountId: 'acct/1' }, ['bluumAccountId']],
      ['no body', undefined, ['bluumAccountId']],
      ['a number and an unknown field', { bluumAccountId: 7, extra: true }, ['bluumAccountId', 'extra']],
    ])('refuses %s with 400, listing every bad field, before the service', async (_name, body, fields) => {
      const res = await put(USER, body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect([...new Set(res.body.details.map((d: { field: string }) => d.field))].sort()).toEqual(fields);
      expect(users.put).not.toHaveBeenCalled();
    });

    it("answers the service's refusal in the envelope", async () => {
      users.put.mockRejectedValueOnce(new AppError('BLUUM_ACCOUNT_TAKEN', 'taken'));
      const res = await put(USER, { bluumAccountId: 'acct_1' });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ statusCode: 409, code: 'BLUUM_ACCOUNT_TAKEN' });
    });
  });

  describe('request ids', () => {
    it.each([
      ['a safe X-Request-Id', 'ops-maintenance-job-42'],
      ['an unsafe one', '<script>'],
    ])("answers with its own request id for %s, never the caller's", async (_name, given) => {
      const res = await http.request('GET', '/v1/users/x', { headers: { 'x-request-id': given } });
      expect(res.status).toBe(401);
      expect(res.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['x-request-id']).toBe(res.body.requestId);
    });
  });
});
