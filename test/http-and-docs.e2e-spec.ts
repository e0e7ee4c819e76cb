// Bad input of every kind gets a clear 4xx in the error envelope; health checks; the OpenAPI document.
import { ERROR_CODES } from '../src/common/error-codes';
import { registerUser, startTestApp, type TestApp } from './support/test-app';
import { adminToken, tokenFor } from './support/tokens';

describe('HTTP edges, health and docs', () => {
  let app: TestApp;
  let userId: string;
  let connectPath: string;

  beforeAll(async () => {
    app = await startTestApp();
    ({ userId } = await registerUser(app));
    connectPath = `/v1/users/${userId}/funding-sources/plaid/connect`;
  });
  afterAll(() => app.close());

  const storedItems = (): Promise<number> => app.prisma.plaidItem.count({ where: { userId } });

  // Every body Fastify and the app's JSON parser refuse (empty, an array, text/plain, over 64 KiB, a
  // __proto__ key, nested too deep…) is a row of src/funding-sources/funding-sources.controller.spec.ts,
  // on the same request pipeline (src/http-pipeline.ts); over the whole app, one shows nothing stored.
  describe('request bodies', () => {
    it('refuses malformed JSON with 400 MALFORMED_JSON in the envelope, nothing stored', async () => {
      const res = await app.request('POST', connectPath, {
        token: tokenFor(userId),
        rawBody: '{"publicToken":',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        code: 'MALFORMED_JSON',
        requestId: expect.any(String),
      });
      expect(await storedItems()).toBe(0);
    });
  });

  describe('path and query parameters', () => {
    // Every malformed id and filter is a row of src/common/param-pipes.spec.ts and of the controller
    // specs; over the whole app, one shows what the router does first with an id longer than Fastify's
    // default parameter length.
    it('refuses a user id of 129 characters with 400 VALIDATION_FAILED', async () => {
      const res = await app.request('GET', `/v1/users/${'a'.repeat(129)}/funding-sources`, {
        token: adminToken(),
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('answers 404 ROUTE_NOT_FOUND in the envelope for an unknown route', async () => {
      const res = await app.request('GET', '/v1/nothing-here', { token: adminToken() });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', code: 'ROUTE_NOT_FOUND' });
    });
  });

  describe('request ids', () => {
    it("always answers with its own request id, never the caller's X-Request-Id", async () => {
      const res = await app.request('GET', '/v1/users/x', {
        headers: { 'x-request-id': 'ops-maintenance-job-42' },
      });
      expect(res.status).toBe(401);
      expect(res.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.get('x-request-id')).toBe(res.body.requestId);
    });
  });

  describe('health', () => {
    it('is live and ready without a token', async () => {
      const live = await app.request('GET', '/health/live');
      const ready = await app.request('GET', '/health/ready');
      expect(live.status).toBe(200);
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
    });
  });

  describe('OpenAPI', () => {
    it('documents every route with bearer security, operation ids and its error codes with examples', async () => {
      const res = await app.request('GET', '/docs-json');
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

      const expected: Record<string, Record<string, string[]>> = {
        '/v1/users/{userId}': {
          put: [
            'VALIDATION_FAILED',
            'UNAUTHENTICATED',
            'FORBIDDEN',
            'BLUUM_ACCOUNT_CONFLICT',
            'PAYLOAD_TOO_LARGE',
          ],
          get: ['UNAUTHENTICATED', 'FORBIDDEN', 'USER_NOT_FOUND'],
        },
        '/v1/users/{userId}/funding-sources/plaid/link-token': {
          post: [
            'UNAUTHENTICATED',
            'USER_NOT_FOUND',
            'BLUUM_UNAVAILABLE',
            'BLUUM_BAD_RESPONSE',
            'BLUUM_TIMEOUT',
          ],
        },
        '/v1/users/{userId}/funding-sources/plaid/connect': {
          post: [
            'MALFORMED_JSON',
            'PUBLIC_TOKEN_REJECTED',
            'BLUUM_UNAVAILABLE',
            'BLUUM_BAD_RESPONSE',
            'BLUUM_TIMEOUT',
          ],
        },
        '/v1/users/{userId}/funding-sources': { get: ['UNAUTHENTICATED', 'FORBIDDEN', 'USER_NOT_FOUND'] },
        '/v1/admin/funding-sources': { get: ['UNAUTHENTICATED', 'FORBIDDEN', 'VALIDATION_FAILED'] },
        '/v1/admin/users/{userId}/events': { get: ['UNAUTHENTICATED', 'FORBIDDEN', 'USER_NOT_FOUND'] },
        '/v1/users/{userId}/funding-sources/sync': {
          post: ['USER_NOT_FOUND', 'BLUUM_UNAVAILABLE', 'BLUUM_TIMEOUT'],
        },
        '/v1/users/{userId}/funding-sources/{fundingSourceId}': {
          get: ['FUNDING_SOURCE_NOT_FOUND'],
          delete: ['FUNDING_SOURCE_NOT_FOUND', 'RATE_LIMITED', 'BLUUM_UNAVAILABLE', 'BLUUM_TIMEOUT'],
        },
      };
      for (const [path, operations] of Object.entries(expected)) {
        for (const [method, codes] of Object.entries(operations)) {
          const operation = doc.paths[path]?.[method];
          expect({ path, method, documented: Boolean(operation) }).toEqual({
            path,
            method,
            documented: true,
          });
          expect(operation.security).toEqual([{ bearer: [] }]);
          expect(operation.operationId).toMatch(/^[a-z][A-Za-z]+$/);
          const documentedCodes = Object.values(
            operation.responses as Record<
              string,
              { content?: { 'application/json'?: { examples?: object } } }
            >,
          ).flatMap((r) => Object.keys(r.content?.['application/json']?.examples ?? {}));
          expect({ path, method, codes: documentedCodes }).toEqual({
            path,
            method,
            codes: expect.arrayContaining(codes),
          });
        }
      }
      expect(doc.paths['/health/ready']).toBeTruthy();
      // Every error code the service can answer is documented, with an example, on some route.
      const everyExample = Object.values(doc.paths as Record<string, Record<string, { responses: object }>>)
        .flatMap((ops) => Object.values(ops))
        .flatMap((op) =>
          Object.values(
            op.responses as Record<string, { content?: { 'application/json'?: { examples?: object } } }>,
          ),
        )
        .flatMap((r) => Object.keys(r.content?.['application/json']?.examples ?? {}));
      const undocumented = Object.keys(ERROR_CODES).filter(
        (code) => !everyExample.includes(code) && !['ROUTE_NOT_FOUND', 'INTERNAL_ERROR'].includes(code),
      );
      expect(undocumented).toEqual([]);
      expect(Object.keys(doc.paths).some((p: string) => p.startsWith('/sandbox'))).toBe(false);
      expect(doc.components.schemas.FundingSourceDto.required).toEqual(
        expect.arrayContaining(['id', 'userId', 'status', 'plaidOptions', 'itemId', 'accountId']),
      );
    });

    it("documents connect's metadata and its 409 DUPLICATE_ITEM, and the body webhook receivers get", async () => {
      const doc = (await app.request('GET', '/docs-json')).body;
      const connect = doc.paths['/v1/users/{userId}/funding-sources/plaid/connect'].post;
      expect(Object.keys(connect.responses['409'].content['application/json'].examples)).toContain(
        'DUPLICATE_ITEM',
      );
      const schemas = doc.components.schemas;
      expect(schemas.ConnectDto.properties.metadata).toBeTruthy();
      expect(schemas.ConnectMetadataDto.required).toEqual(['institution', 'accounts']);
      expect(schemas.ConnectMetadataAccountDto.required).toEqual(['mask', 'name']);
      expect(schemas.ErrorBodyDto.properties.fundingSources).toMatchObject({
        type: 'array',
        items: { $ref: '#/components/schemas/FundingSourceDto' },
      });
      // What each delivery sends, its sequence included, for receivers to generate from.
      expect(schemas.WebhookEventDto.required).toEqual(['type', 'timestamp', 'sequence', 'data']);
      expect(schemas.WebhookEventDto.properties.sequence).toMatchObject({ type: 'integer', minimum: 1 });
    });
  });
});
