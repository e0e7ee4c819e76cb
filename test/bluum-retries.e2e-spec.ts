// The retry policy over real HTTP: calls safe to repeat (link-token, reads) are retried on transient
// failures within BLUUM_TIMEOUT_MS; connect never is, and neither is a refusal of our credentials.
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

  it('link-token: our own credentials refused (401) are not retried', async () => {
    const { userId } = await registerUser(app);
    bluum.failNext({ status: 401 }, 5);
    const res = await api.as(userId).linkToken();
    expect(res.status).toBe(502);
    expect(bluum.requests).toHaveLength(1);
  });

  it('connect: never retried, even after a transient failure', async () => {
    const { userId } = await registerUser(app);
    bluum.failNext({ status: 503 });
    const res = await api.as(userId).connect();
    expect(res.status).toBe(502);
    expect(bluum.requests).toHaveLength(1);
  });

  it('sync: a transient failure of the list is retried too', async () => {
    const { userId } = await registerUser(app);
    bluum.failNext({ status: 502, body: '<html>Bad Gateway</html>' });
    const res = await api.as(userId).sync();
    expect(res.status).toBe(200);
    expect(bluum.requests).toHaveLength(2);
  });
});
