// The service as a real process (src/main.ts, run from TypeScript): boot-time configuration errors and
// graceful shutdown on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEV_AUTH_JWT_SECRET, loadConfig } from '../src/config/app-config';
import { seedEmbeddedDatabaseDir } from './support/embedded-template';
import { FakeBluum } from './support/fake-bluum';
import { sandboxPublicToken } from './support/test-app';
import { tokenFor } from './support/tokens';

const ROOT = resolve(__dirname, '..');

interface Service {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnService(env: Record<string, string>, cwd: string): Service {
  let output = '';
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('@swc-node/register'), join(ROOT, 'src', 'main.ts')],
    {
      cwd,
      // Nothing inherited: the service sees only what the test gives it.
      env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output: () => output, exited };
}

async function listeningUrl(service: Service, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(service.output());
    if (match) return match[1];
    if (Date.now() > deadline || service.child.exitCode !== null) {
      throw new Error(`service did not start:\n${service.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the service process', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bluum-process-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // Which settings stop the boot, and with which message, is src/config/app-config.spec.ts (failing
  // closed without NODE_ENV, the identity provider without its issuer, ...); a process shows that the
  // message is the one line printed and that the exit code is 1.
  it('stops at boot with one line naming a missing production variable', async () => {
    const service = spawnService({ NODE_ENV: 'production' }, dir);
    expect(await service.exited).toBe(1);
    const lines = service.output().trim().split('\n');
    expect(lines).toEqual(['Configuration error: DATABASE_URL is required when NODE_ENV=production']);
  });

  it('with nothing configured, runs on development defaults bound to 127.0.0.1 only', async () => {
    // Its embedded database (the default directory) comes migrated: initdb in a process of its own
    // took most of this test's time.
    await seedEmbeddedDatabaseDir(join(dir, loadConfig({ NODE_ENV: 'development' }).embeddedDatabaseDir));
    const service = spawnService({ PORT: '0' }, dir);
    try {
      const url = await listeningUrl(service);
      expect(service.output()).toContain('(bound to 127.0.0.1;');
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
  });

  it('stops at boot on a malformed variable, without echoing a secret', async () => {
    const service = spawnService({ DATABASE_URL: 'mysql://u:s3cr3t-pw@db/x' }, dir);
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain('DATABASE_URL');
    expect(service.output()).not.toContain('s3cr3t-pw');
  });

  /**
   * The service (development mode) in front of a fake Bluum, a user registered under it, and `call` for
   * JSON requests to it with that user's token; everything is stopped after `run`.
   */
  async function withServiceAndFakeBluum(
    bluumTimeoutMs: string,
    userId: string,
    run: (ctx: {
      service: Service;
      bluum: FakeBluum;
      call: (method: string, path: string, body?: object) => Promise<Response>;
    }) => Promise<void>,
  ): Promise<void> {
    const bluum = await FakeBluum.start();
    const service = spawnService(
      {
        NODE_ENV: 'development',
        PORT: '0',
        // The run's PostgreSQL when it has one: a new embedded database costs this process its initdb.
        ...(process.env.TEST_DATABASE_URL ? { DATABASE_URL: process.env.TEST_DATABASE_URL } : {}),
        BLUUM_BASE_URL: bluum.url,
        BLUUM_TIMEOUT_MS: bluumTimeoutMs,
        LOG_LEVEL: 'info',
      },
      dir,
    );
    try {
      const url = await listeningUrl(service);
      const send = (method: string, path: string, token: string, body?: object) =>
        fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
      const admin = tokenFor('ops', { roles: ['admin'], secret: DEV_AUTH_JWT_SECRET });
      const put = await send('PUT', `/v1/users/${userId}`, admin, { bluumAccountId: `acct_${userId}` });
      expect(put.status).toBe(201);
      const user = tokenFor(userId, { secret: DEV_AUTH_JWT_SECRET });
      await run({ service, bluum, call: (method, path, body) => send(method, path, user, body) });
      await expect(fetch(`${url}/health/live`)).rejects.toThrow();
    } finally {
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
      await bluum.close();
    }
  }

  // One process for both kinds of work in flight: each start of the service from TypeScript costs seconds.
  // The shutdown limit follows the Bluum budget (2 × BLUUM_TIMEOUT_MS + 5 s, plus 5 s); replies late in a
  // short budget show the wait without waiting seconds on a real clock.
  it('on SIGTERM finishes a connect and a disconnect that are waiting on Bluum, stores both, and exits 0', async () => {
    await withServiceAndFakeBluum('2000', 'user_sigterm', async ({ service, bluum, call }) => {
      const base = '/v1/users/user_sigterm/funding-sources';
      const linked = await call('POST', `${base}/plaid/connect`, { publicToken: sandboxPublicToken() });
      const { fundingSources } = (await linked.json()) as { fundingSources: { id: string }[] };

      bluum.failNext({ delayMs: 1_000 }, 2);
      const connect = call('POST', `${base}/plaid/connect`, { publicToken: sandboxPublicToken() });
      const disconnect = call('DELETE', `${base}/${fundingSources[0].id}`);
      await bluum.received(3);
      const signalledAt = Date.now();
      service.child.kill('SIGTERM');

      const [connected, disconnected] = await Promise.all([connect, disconnect]);
      expect(connected.status).toBe(201);
      expect(((await connected.json()) as { fundingSources: unknown[] }).fundingSources).toHaveLength(1);
      expect(disconnected.status).toBe(200);
      expect(((await disconnected.json()) as { status: string }).status).toBe('disconnected');
      expect(await service.exited).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      expect(service.output()).not.toContain('exiting anyway');
    });
  });
});
