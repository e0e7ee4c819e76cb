// The retry policy over real HTTP: a call safe to repeat is retried on transient failures within
// BLUUM_TIMEOUT_MS, and the user never sees them. Which calls are retried (link-token and a request's
// list, never connect, never a refusal of our credentials) is src/bluum/http-bluum.gateway.spec.ts's.
import { closeAppWithFakeBluum, type FakeBluum, startAppWithFakeBluum } from './support/fake-bluum';
import { type Api, testApi } from './support/api';
import { registerUser, type TestApp } from './support/test-app';

describe('Bluum retries', () => {
  let bluum: FakeBluum;
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    // A budget roomy enough for a few attempts on a busy machine.
    ({ app, bluum } = await startAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '5000' }));
    api = testApi(app);
  });
  afterAll(() => closeAppWithFakeBluum({ app, bluum }));
  beforeEach(() => bluum.reset());

  it('link-token: a transient failure is retried with backoff and the user never sees it', async () => {
    const { userId } = await registerUser(app);
    bluum.failNext({ status: 503 });
    bluum.failNext({ reset: true });
    const res = await api.as(userId).linkToken();
    expect(res.status).toBe(201);
    expect(bluum.requests).toHaveLength(3);
  });
});
