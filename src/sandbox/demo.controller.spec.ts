import { createHash } from 'node:crypto';
import { TokenVerifier } from '../auth/token-verifier';
import { configSlice, loadConfig } from '../config/app-config';
import type { UsersService } from '../users/users.service';
import { DemoController } from './demo.controller';
import type { SandboxPages } from './sandbox-pages';

describe('DemoController.demoUser', () => {
  // Strict fakes: the route must refuse before it registers anyone.
  const users = {
    ensure: jest.fn((id: string, bluumAccountId: string) =>
      Promise.resolve({ id, bluumAccountId, createdAt: '', updatedAt: '' }),
    ),
  };
  const controller = (env: Record<string, string>) => {
    const config = loadConfig({ NODE_ENV: 'development', ...env });
    return new DemoController(
      {} as SandboxPages,
      users as unknown as UsersService,
      configSlice(config, 'auth'),
      configSlice(config, 'bluum'),
    );
  };

  beforeEach(() => users.ensure.mockClear());

  it('signs a demo token while the sandbox is the Bluum in use and no identity provider is configured', async () => {
    const session = await controller({}).demoUser({ userId: 'demo-1' });
    expect(session).toMatchObject({ userId: 'demo-1', tokenType: 'Bearer', expiresIn: 3600 });
    expect(users.ensure).toHaveBeenCalledTimes(1);
  });

  it("registers demo users under an inv_ account when the service speaks Bluum's investors generation", async () => {
    const investors = await controller({ BLUUM_API_VERSION: 'investors' }).demoUser({ userId: 'demo-inv' });
    const accounts = await controller({}).demoUser({ userId: 'demo-acct' });
    expect(investors.bluumAccountId).toMatch(/^inv_sbx_[0-9a-f]{24}$/);
    expect(accounts.bluumAccountId).toMatch(/^sbx_[0-9a-f]{24}$/);
    expect(users.ensure).toHaveBeenCalledWith('demo-inv', investors.bluumAccountId);
  });

  it.each([
    ['accounts', 'investors'],
    ['investors', 'accounts'],
  ])(
    'signs no token for a demo user registered for the %s generation while the service speaks %s (403)',
    async (before, now) => {
      const registered = await controller({ BLUUM_API_VERSION: before }).demoUser({ userId: 'demo-moved' });
      users.ensure.mockImplementationOnce((id: string) =>
        Promise.resolve({ id, bluumAccountId: registered.bluumAccountId, createdAt: '', updatedAt: '' }),
      );
      await expect(
        controller({ BLUUM_API_VERSION: now }).demoUser({ userId: 'demo-moved' }),
      ).rejects.toMatchObject({
        code: 'FORBIDDEN',
        status: 403,
        message: expect.stringContaining("Bluum's other API generation"),
      });
    },
  );

  it.each([
    ['a real Bluum is configured', { BLUUM_BASE_URL: 'https://bluum.example.com' }],
    [
      'an identity provider is configured',
      {
        AUTH_JWKS_URL: 'https://id.example.com/jwks.json',
        AUTH_ISSUER: 'https://id.example.com/',
        AUTH_AUDIENCE: 'bluum',
      },
    ],
  ])('does not exist when %s (404, nobody registered)', async (_why, env) => {
    await expect(controller(env).demoUser({ userId: 'demo-1' })).rejects.toMatchObject({
      code: 'ROUTE_NOT_FOUND',
      status: 404,
    });
    expect(users.ensure).not.toHaveBeenCalled();
  });

  it.each([
    ['a user registered under a real Bluum account (alice)', () => 'acct_real_alice'],
    // Whoever may register users could once put a user under sha256(id)'s account and have the sandbox
    // sign for it; the sandbox's own accounts now depend on the signing secret.
    [
      'a user registered under a sandbox-looking account it did not derive',
      (userId: string) => `sbx_${createHash('sha256').update(userId).digest('hex').slice(0, 24)}`,
    ],
  ])('signs no token for %s (403 FORBIDDEN)', async (_name, account) => {
    users.ensure.mockImplementationOnce((id: string) =>
      Promise.resolve({ id, bluumAccountId: account(id), createdAt: '', updatedAt: '' }),
    );
    await expect(controller({}).demoUser({ userId: 'victim-1' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
      message: expect.stringContaining('registered itself'),
    });
  });

  it('signs demo tokens the service accepts when AUTH_ISSUER and AUTH_AUDIENCE are set', async () => {
    const env = { AUTH_ISSUER: 'https://idp.example.com/', AUTH_AUDIENCE: 'bluum-linking' };
    const session = await controller(env).demoUser({ userId: 'demo-checked' });
    const verifier = new TokenVerifier(configSlice(loadConfig({ NODE_ENV: 'development', ...env }), 'auth'));
    try {
      await expect(verifier.verify(session.accessToken)).resolves.toMatchObject({
        sub: 'demo-checked',
        admin: false,
        scope: '',
      });
    } finally {
      verifier.onModuleDestroy();
    }
  });
});
