// The admin routes on funding sources on Fastify, built as the app is (test/support/controller-app.ts),
// AdminFundingSourcesService faked and no database: admins only, and which queries and path ids reach
// the service. Paging and filters on real rows are test/medium/admin-listing.medium-spec.ts; cursors
// this API never issued are src/funding-sources/page-cursor.spec.ts; test/admin-list.e2e-spec.ts keeps
// a row of each over the whole app.
import { type ControllerApp, startControllerApp, strictFake } from '../../test/support/controller-app';
import { adminToken, depositServiceToken, tokenFor } from '../../test/support/tokens';
import { AdminFundingSourcesController } from './admin-funding-sources.controller';
import { AdminFundingSourcesService } from './admin-funding-sources.service';

const EVENTS = '/v1/admin/users/user_1/events';
const LIST = '/v1/admin/funding-sources';

describe('AdminFundingSourcesController on Fastify', () => {
  const admin = {
    list: jest.fn(() => Promise.resolve({ data: [], nextCursor: null })),
    events: jest.fn(() => Promise.resolve({ data: [], nextCursor: null })),
  };
  let http: ControllerApp;

  beforeAll(async () => {
    http = await startControllerApp({
      controllers: [AdminFundingSourcesController],
      providers: [
        {
          provide: AdminFundingSourcesService,
          useValue: strictFake('AdminFundingSourcesService', admin),
        },
      ],
    });
  });
  afterAll(() => http.close());
  beforeEach(() => {
    admin.list.mockClear();
    admin.events.mockClear();
  });

  describe('who may call', () => {
    it('lets admins read both', async () => {
      for (const path of [LIST, EVENTS]) {
        const res = await http.request('GET', path, { token: adminToken() });
        expect({ path, status: res.status, body: res.body }).toEqual({
          path,
          status: 200,
          body: { data: [], nextCursor: null },
        });
      }
    });

    it.each([
      ['the user whose trail it is', tokenFor('user_1')],
      ['a deposit service', depositServiceToken()],
      ['a service with both scopes', tokenFor('svc', { scope: 'funding-sources:read users:write' })],
      ['a non-admin role', tokenFor('ops', { roles: ['support', 'administrator'] })],
    ])('answers %s 403 FORBIDDEN on both, reading nothing', async (_who, token) => {
      for (const path of [LIST, EVENTS]) {
        const res = await http.request('GET', path, { token });
        expect({ path, status: res.status, code: res.body.code }).toEqual({
          path,
          status: 403,
          code: 'FORBIDDEN',
        });
      }
      expect(admin.list).not.toHaveBeenCalled();
      expect(admin.events).not.toHaveBeenCalled();
    });

    it('answers 401 without a token', async () => {
      for (const path of [LIST, EVENTS]) expect((await http.request('GET', path)).status).toBe(401);
    });
  });

  describe('GET /v1/admin/funding-sources', () => {
    it('hands the service the filters, the page size as a number and the cursor as sent', async () => {
      const res = await http.request(
        'GET',
        `${LIST}?userId=auth0%7Cu1&institution=%25&status=active&limit=100&cursor=abc`,
        { token: adminToken() },
      );
      expect(res.status).toBe(200);
      expect(admin.list).toHaveBeenCalledWith({
        userId: 'auth0|u1',
        institution: '%',
        status: 'active',
        limit: 100,
        cursor: 'abc',
      });
    });

    // Every rule of AdminListQuery is a row of src/common/validation-pipe.spec.ts; here the route refuses
    // them before its service, naming the field.
    it.each([
      ['limit=0', '?limit=0', 'limit'],
      ['limit=101', '?limit=101', 'limit'],
      ['limit=ten', '?limit=ten', 'limit'],
      ['an unknown status', '?status=gone', 'status'],
      ['an unknown parameter', '?sort=asc', 'sort'],
      ['an institution of 101 characters', `?institution=${'i'.repeat(101)}`, 'institution'],
      ['a userId that is no user id', '?userId=a%20b', 'userId'],
      ['a cursor of 201 characters', `?cursor=${'c'.repeat(201)}`, 'cursor'],
    ])('refuses %s with 400', async (_name, query, field) => {
      const res = await http.request('GET', `${LIST}${query}`, { token: adminToken() });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect([...new Set(res.body.details.map((d: { field: string }) => d.field))]).toEqual([field]);
      expect(admin.list).not.toHaveBeenCalled();
    });
  });

  describe('GET /v1/admin/users/{userId}/events', () => {
    it('hands the service the user and the page', async () => {
      const res = await http.request('GET', `${EVENTS}?limit=1&cursor=abc`, { token: adminToken() });
      expect(res.status).toBe(200);
      expect(admin.events).toHaveBeenCalledWith('user_1', { limit: 1, cursor: 'abc' });
    });

    it.each([
      ['a userId that is no user id', '/v1/admin/users/a%20b/events', 'userId'],
      ['limit=101', `${EVENTS}?limit=101`, 'limit'],
      ['a filter it does not have', `${EVENTS}?status=active`, 'status'],
    ])('refuses %s with 400', async (_name, path, field) => {
      const res = await http.request('GET', path, { token: adminToken() });
      expect(res.status).toBe(400);
      expect([...new Set(res.body.details.map((d: { field: string }) => d.field))]).toEqual([field]);
      expect(admin.events).not.toHaveBeenCalled();
    });
  });
});
