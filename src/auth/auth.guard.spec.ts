import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { configSlice, loadConfig } from '../config/app-config';
import { FundingSourcesController } from '../funding-sources/funding-sources.controller';
import { UsersController } from '../users/users.controller';
import { callerOf } from './current-principal.decorator';
import { Access, Public } from './access.decorator';
import { AuthGuard } from './auth.guard';
import { TokenVerifier } from './token-verifier';
import { signHs256 } from './jwt';

const SECRET = 'guard-secret-0123456789abcdef012345';
const auth = configSlice(loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: SECRET }), 'auth');
const token = (claims: object): string =>
  `Bearer ${signHs256({ exp: Math.floor(Date.now() / 1000) + 60, ...claims }, SECRET)}`;

class Routes {
  @Public() health(): void {}
  @Access({ self: true, scope: 'funding-sources:read' }) readSources(): void {}
  @Access({ self: true }) link(): void {}
  @Access({ scope: 'users:write' }) putUser(): void {}
  @Access({}) adminOnly(): void {}
  noRule(): void {}
}

// Rules set on a controller class apply to its methods; a method's own rule wins over the class's.
@Access({ self: true })
class SelfController {
  inherits(): void {}
  @Access({}) adminOverride(): void {}
}

@Public()
class PublicController {
  open(): void {}
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any controller class
type Controller = Function;

function context(
  handler: string,
  authorization?: string,
  params: Record<string, string> = {},
  controller: Controller = Routes,
) {
  const request = { headers: authorization ? { authorization } : {}, params } as Record<string, unknown>;
  const ctx = {
    getHandler: () => (controller.prototype as unknown as Record<string, () => void>)[handler],
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
  return { ctx, request };
}

describe('AuthGuard', () => {
  const guard = new AuthGuard(new Reflector(), new TokenVerifier(auth));
  const check = (handler: keyof Routes, authorization?: string, userId = 'user_1'): Promise<boolean> =>
    guard.canActivate(context(handler, authorization, { userId }).ctx);

  it('lets public routes through without a token', async () => {
    await expect(check('health')).resolves.toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['a Basic header', 'Basic dXNlcjpwYXNz'],
    ['a bearer without token', 'Bearer '],
    ['a garbage token', 'Bearer abc.def.ghi'],
    ['a header with two tokens', 'Bearer a.b.c d.e.f'],
    [
      'an expired token',
      // Past the 5 s allowed for clock skew.
      `Bearer ${signHs256({ sub: 'user_1', exp: Math.floor(Date.now() / 1000) - 6 }, SECRET)}`,
    ],
    [
      'an alg none token',
      `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({ sub: 'user_1', exp: 9_999_999_999, roles: ['admin'] }),
      ).toString('base64url')}.`,
    ],
    [
      'a token signed with another secret',
      `Bearer ${signHs256({ sub: 'user_1', exp: 9_999_999_999 }, 'other')}`,
    ],
  ])('answers UNAUTHENTICATED for %s', async (_name, header) => {
    await expect(check('link', header)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });

  it('attaches the principal to the request', async () => {
    const { ctx, request } = context('link', token({ sub: 'user_1' }), { userId: 'user_1' });
    await guard.canActivate(ctx);
    expect(request.principal).toMatchObject({ subject: 'user_1', isAdmin: false });
  });

  it('lets admins through every rule, including a route without one', async () => {
    for (const handler of ['readSources', 'link', 'putUser', 'adminOnly', 'noRule'] as const) {
      await expect(check(handler, token({ sub: 'ops', roles: ['admin'] }))).resolves.toBe(true);
    }
  });

  it('closes a route without an @Access rule to everyone but admins', async () => {
    await expect(
      check('noRule', token({ sub: 'user_1', scope: 'users:write funding-sources:read' })),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it("never lets a service key's client through a self rule, even one named like the user", async () => {
    const KEY = 'svc-key-0123456789abcdef0123456789abcdef';
    const withKeys = configSlice(
      loadConfig({
        NODE_ENV: 'test',
        AUTH_JWT_SECRET: SECRET,
        AUTH_SERVICE_KEYS: JSON.stringify([{ kid: 'k1', client: 'user_1', secret: KEY, scopes: [] }]),
      }),
      'auth',
    );
    const serviceGuard = new AuthGuard(new Reflector(), new TokenVerifier(withKeys));
    const now = Math.floor(Date.now() / 1000);
    const service = `Bearer ${signHs256({ sub: 'user_1', iat: now, exp: now + 60 }, KEY, { kid: 'k1' })}`;
    await expect(
      serviceGuard.canActivate(context('link', service, { userId: 'user_1' }).ctx),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('lets the user itself through a self rule, and no one else', async () => {
    await expect(check('link', token({ sub: 'user_1' }), 'user_1')).resolves.toBe(true);
    await expect(check('link', token({ sub: 'user_2' }), 'user_1')).rejects.toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
    });
    await expect(
      check('link', token({ sub: 'user_1', scope: 'funding-sources:read' }), 'user_2'),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('lets a scope through where the rule names it, and only there', async () => {
    const reader = token({ sub: 'svc', scope: 'openid funding-sources:read' });
    await expect(check('readSources', reader, 'user_1')).resolves.toBe(true);
    await expect(check('putUser', reader)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const writer = token({ sub: 'svc', scope: 'users:write' });
    await expect(check('putUser', writer)).resolves.toBe(true);
    await expect(check('readSources', writer)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('treats a scope as a whole word, not a substring', async () => {
    await expect(
      check('readSources', token({ sub: 'svc', scope: 'funding-sources:read-all' })),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('gives roles other than admin no power', async () => {
    await expect(
      check('adminOnly', token({ sub: 'x', roles: ['administrator', 'support'] })),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('accepts the bearer scheme in any case', async () => {
    const header = token({ sub: 'user_1' }).replace('Bearer', 'bearer');
    await expect(check('link', header, 'user_1')).resolves.toBe(true);
  });

  it('gives @CurrentPrincipal() the verified caller and the request ids, for the audit trail', async () => {
    const { ctx, request } = context('readSources', token({ sub: 'svc', scope: 'funding-sources:read' }), {
      userId: 'user_1',
    });
    await guard.canActivate(ctx);
    Object.assign(request, { id: 'req-1' });
    (request.headers as Record<string, string>)['x-request-id'] = 'client-7';
    expect(callerOf(request as never)).toEqual({
      actor: { subject: 'svc', role: null, scope: 'funding-sources:read' },
      requestId: 'req-1',
      clientRequestId: 'client-7',
    });
    (request.headers as Record<string, string>)['x-request-id'] = 'bad id\nwith newline';
    expect(callerOf(request as never).clientRequestId).toBeNull();
  });

  it('gives @CurrentPrincipal() nothing on a request no token was verified for', () => {
    expect(() => callerOf({ id: 'req-2', headers: {} })).toThrow(
      expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    );
  });

  it('applies a rule set on the controller class, unless the method sets its own', async () => {
    const self = token({ sub: 'user_1' });
    const params = { userId: 'user_1' };
    await expect(guard.canActivate(context('inherits', self, params, SelfController).ctx)).resolves.toBe(
      true,
    );
    const other = context('inherits', token({ sub: 'user_2' }), params, SelfController).ctx;
    await expect(guard.canActivate(other)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const override = context('adminOverride', self, params, SelfController).ctx;
    await expect(guard.canActivate(override)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guard.canActivate(context('open', undefined, {}, PublicController).ctx)).resolves.toBe(true);
  });

  it('refuses self when the route has no userId parameter', async () => {
    const { ctx } = context('link', token({ sub: 'user_1' }), {});
    await expect(guard.canActivate(ctx)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  // The contract's who-may-call table, on the real routes' rules (the HTTP answer, 403 FORBIDDEN in the
  // error envelope, is shown once by test/auth-and-users.e2e-spec.ts).
  describe('who may call what, route by route', () => {
    const routes: [string, Controller, string][] = [
      ['putUser', UsersController, 'put'],
      ['getUser', UsersController, 'get'],
      ['listSources', FundingSourcesController, 'list'],
      ['getSource', FundingSourcesController, 'get'],
      ['linkToken', FundingSourcesController, 'createLinkToken'],
      ['connect', FundingSourcesController, 'connect'],
      ['sync', FundingSourcesController, 'sync'],
      ['disconnect', FundingSourcesController, 'disconnect'],
    ];
    const all = (allowed: boolean) => Object.fromEntries(routes.map(([name]) => [name, allowed]));
    const table: [string, string, Record<string, boolean>][] = [
      ['an admin', token({ sub: 'ops', roles: ['admin'] }), all(true)],
      ['the user itself', token({ sub: 'user_1' }), { ...all(true), putUser: false }],
      ['another user', token({ sub: 'user_2' }), all(false)],
      [
        'scope users:write',
        token({ sub: 'svc-users', scope: 'users:write' }),
        { ...all(false), putUser: true, getUser: true },
      ],
      [
        'scope funding-sources:read',
        token({ sub: 'svc-deposits', scope: 'funding-sources:read' }),
        { ...all(false), listSources: true, getSource: true },
      ],
      [
        'a non-admin role and unrelated scopes',
        token({ sub: 'svc-x', roles: ['support'], scope: 'users:read funding-sources:write' }),
        all(false),
      ],
    ];

    it.each(table)('%s', async (_who, authorization, allowed) => {
      const outcomes: Record<string, boolean | string> = {};
      for (const [name, controller, handler] of routes) {
        const { ctx } = context(handler, authorization, { userId: 'user_1' }, controller);
        outcomes[name] = await guard.canActivate(ctx).then(
          (passed) => passed,
          (error: { code?: string }) => error.code ?? 'thrown',
        );
      }
      const expected = Object.fromEntries(
        Object.entries(allowed).map(([name, yes]) => [name, yes ? true : 'FORBIDDEN']),
      );
      expect(outcomes).toEqual(expected);
    });
  });
});
