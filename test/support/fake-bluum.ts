// The e2e specs' Bluum: the fault-injecting server around the one Bluum stand-in
// (./fake-bluum-server.ts, which `npm run chaos` serves too), and the app pointed at it.
import { DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET } from '../../src/config/app-config';
import { type Api, testApi } from './api';
import { FakeBluum } from './fake-bluum-server';
import type { AppOptions } from '../../src/bootstrap';
import { startTestApp, type TestApp } from './test-app';

export {
  type BluumOperation,
  FakeBluum,
  type Fault,
  type FakeItem,
  type RecordedRequest,
} from './fake-bluum-server';

export interface AppWithFakeBluum {
  app: TestApp;
  bluum: FakeBluum;
}

/** A fake Bluum and the test app pointed at it, with `env` on top (a spec's usual beforeAll). */
export async function startAppWithFakeBluum(
  env: Record<string, string> = {},
  options: AppOptions = {},
): Promise<AppWithFakeBluum> {
  // Bluum checks the very key pair the app is configured to send (the development pair unless `env` says).
  const bluum = await FakeBluum.start({
    credentials: {
      apiKey: env.BLUUM_API_KEY ?? DEV_BLUUM_API_KEY,
      apiSecret: env.BLUUM_API_SECRET ?? DEV_BLUUM_API_SECRET,
    },
  });
  try {
    return { app: await startTestApp({ BLUUM_BASE_URL: bluum.url, ...env }, options), bluum };
  } catch (error) {
    await bluum.close();
    throw error;
  }
}

/** Closes what startAppWithFakeBluum started, the app first (it may still be calling Bluum). */
export async function closeAppWithFakeBluum({ app, bluum }: Partial<AppWithFakeBluum>): Promise<void> {
  await app?.close();
  await bluum?.close();
}

export interface FakeBluumSuite extends AppWithFakeBluum {
  api: Api;
}

/**
 * A describe block's app on a fake Bluum: started before its tests, closed after them, Bluum reset
 * before each. Read `suite.app`, `suite.bluum` and `suite.api` inside hooks and tests. `env` may be a
 * function, read when the app starts (after the block's earlier beforeAll hooks).
 */
export function useAppWithFakeBluum(
  env: Record<string, string> | (() => Record<string, string>) = {},
): FakeBluumSuite {
  const suite = {} as FakeBluumSuite;
  beforeAll(async () => {
    Object.assign(suite, await startAppWithFakeBluum(typeof env === 'function' ? env() : env));
    suite.api = testApi(suite.app);
  });
  afterAll(() => closeAppWithFakeBluum(suite));
  beforeEach(() => suite.bluum.reset());
  return suite;
}
