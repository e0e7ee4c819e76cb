// The admin routes on webhook deliveries on Fastify, built as the app is (test/support/controller-app.ts),
// WebhookDeliveriesService faked and no database: admins only, and which ids and queries reach the
// service. What a retry may requeue is test/medium/webhook-outbox.medium-spec.ts; test/webhooks.e2e-spec.ts
// retries over the whole app.
import { type ControllerApp, startControllerApp, strictFake } from '../../test/support/controller-app';
import { adminToken, depositServiceToken, tokenFor } from '../../test/support/tokens';
import { AppError } from '../common/app-error';
import { AdminWebhookDeliveriesController } from './admin-webhook-deliveries.controller';
import { WebhookDeliveriesService } from './webhook-deliveries.service';

const ID = '00000000-0000-4000-8000-000000000000';
const LIST = '/v1/admin/webhook-deliveries';
const RETRY = `${LIST}/${ID}/retry`;

describe('AdminWebhookDeliveriesController on Fastify', () => {
  const deliveries = {
    list: jest.fn(() => Promise.resolve({ data: [], nextCursor: null })),
    retry: jest.fn((id: string) => Promise.resolve({ id, status: 'pending', attempts: 0 })),
  };
  let http: ControllerApp;

  beforeAll(async () => {
    http = await startControllerApp({
      controllers: [AdminWebhookDeliveriesController],
      providers: [
        { provide: WebhookDeliveriesService, useValue: strictFake('WebhookDeliveriesService', deliveries) },
      ],
    });
  });
  afterAll(() => http.close());
  beforeEach(() => {
    deliveries.list.mockClear();
    deliveries.retry.mockClear();
  });

  it('lets admins list, filtered, and retry', async () => {
    const listed = await http.request('GET', `${LIST}?status=failed&limit=100`, { token: adminToken() });
    expect(listed.status).toBe(200);
    expect(deliveries.list).toHaveBeenCalledWith({ status: 'failed', limit: 100 });
    const retried = await http.request('POST', RETRY, { token: adminToken() });
    expect(retried).toMatchObject({ status: 200, body: { id: ID, status: 'pending' } });
    expect(deliveries.retry).toHaveBeenCalledWith(ID);
  });

  it.each([
    ['a user', tokenFor('user_1')],
    ['a deposit service', depositServiceToken()],
  ])('answers %s 403 FORBIDDEN, touching nothing', async (_who, token) => {
    expect((await http.request('GET', LIST, { token })).status).toBe(403);
    expect((await http.request('POST', RETRY, { token })).status).toBe(403);
    expect(deliveries.list).not.toHaveBeenCalled();
    expect(deliveries.retry).not.toHaveBeenCalled();
  });

  it.each([
    ['an id that is not a UUID', 'POST', `${LIST}/not-a-uuid/retry`, 'id'],
    ['an unknown status', 'GET', `${LIST}?status=lost`, 'status'],
    ['limit=0', 'GET', `${LIST}?limit=0`, 'limit'],
  ])('refuses %s with 400, before the service', async (_name, method, path, field) => {
    const res = await http.request(method, path, { token: adminToken() });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.details).toEqual([expect.objectContaining({ field })]);
    expect(deliveries.list).not.toHaveBeenCalled();
    expect(deliveries.retry).not.toHaveBeenCalled();
  });

  it("answers the service's refusals in the envelope", async () => {
    deliveries.retry.mockRejectedValueOnce(new AppError('WEBHOOK_DELIVERY_SUPERSEDED', 'superseded'));
    const res = await http.request('POST', RETRY, { token: adminToken() });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, code: 'WEBHOOK_DELIVERY_SUPERSEDED' });
  });
});
