// What browsers are told, on a controller built as the app is (test/support/controller-app.ts) with the
// app's browser edges: which origins CORS answers, and which header set each answer gets. helmet's set
// byte for byte, Swagger UI under its CSP and a preflight over the whole app are
// test/browser-edges.e2e-spec.ts's.
import { Controller, Get } from '@nestjs/common';
import { type ControllerApp, startControllerApp, strictFake } from '../../test/support/controller-app';
import { Public } from '../auth/access.decorator';
import { tokenFor } from '../../test/support/tokens';
import { UsersController } from '../users/users.controller';
import { UsersService } from '../users/users.service';

const FRONTEND = 'https://app.example.com';

/** A route outside /v1, as /health, /docs and the sandbox's pages are. */
@Controller('page')
class PageController {
  @Public()
  @Get()
  page(): { ok: boolean } {
    return { ok: true };
  }
}
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

describe('browser edges', () => {
  const users = {
    get: jest.fn((id: string) =>
      Promise.resolve({ id, bluumAccountId: 'acct_1', createdAt: '', updatedAt: '' }),
    ),
  };
  const apps: ControllerApp[] = [];
  const start = async (env: Record<string, string>) => {
    const app = await startControllerApp({
      controllers: [UsersController, PageController],
      providers: [{ provide: UsersService, useValue: strictFake('UsersService', users) }],
      env,
      browserEdges: true,
    });
    apps.push(app);
    return app;
  };
  afterAll(() => Promise.all(apps.map((app) => app.close())));

  const preflight = (http: ControllerApp, origin: string) =>
    http.request('OPTIONS', '/v1/users/alice', {
      headers: {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization,content-type',
      },
    });

  describe('with CORS_ALLOWED_ORIGINS', () => {
    let http: ControllerApp;
    beforeAll(async () => {
      http = await start({ CORS_ALLOWED_ORIGINS: `${FRONTEND},https://ops.example.com` });
    });

    it.each([FRONTEND, 'https://ops.example.com'])('answers %s with itself', async (origin) => {
      const res = await preflight(http, origin);
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-max-age']).toBe('600');
    });

    it.each([
      'https://evil.example',
      'https://app.example.com.evil.example',
      'http://app.example.com',
      'null',
      // Not on the list: development's localhost default is off once origins are listed.
      'http://localhost:5173',
    ])('gives %s no CORS headers, and never echoes it', async (origin) => {
      const answers = [
        await preflight(http, origin),
        await http.request('GET', '/v1/users/alice', { token: tokenFor('alice'), headers: { origin } }),
      ];
      for (const res of answers) {
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.text).not.toContain(origin);
      }
    });

    it('exposes the request id, Retry-After and Idempotent-Replayed to an allowed frontend', async () => {
      const res = await http.request('GET', '/v1/users/alice', {
        token: tokenFor('alice'),
        headers: { origin: FRONTEND },
      });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(FRONTEND);
      expect(res.headers['access-control-expose-headers']).toBe(
        'x-request-id, retry-after, idempotent-replayed',
      );
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it('answers /v1 (by the route matched, whatever the URL spells), its errors and unrouted paths with no-store and a CSP that loads nothing; other routes with helmet’s own', async () => {
      const api = [
        await http.request('GET', '/v1/users/alice', { token: tokenFor('alice') }),
        // Routed as /v1/users/alice: the raw URL does not start with /v1/.
        await http.request('GET', '/%761/users/alice', { token: tokenFor('alice') }),
        await http.request('GET', '/v1/users/alice'),
        await http.request('GET', '/v1/nothing-here', { token: tokenFor('alice') }),
        await http.request('GET', '/no-such-route'),
      ];
      expect(api.map((res) => res.status)).toEqual([200, 200, 401, 404, 404]);
      for (const res of api) {
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['content-security-policy']).toBe(API_CSP);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
      }
      const elsewhere = await http.request('GET', '/page');
      expect(elsewhere.status).toBe(200);
      expect(elsewhere.headers['cache-control']).toBeUndefined();
      expect(elsewhere.headers['content-security-policy']).toContain("default-src 'self'");
      expect(elsewhere.headers['x-content-type-options']).toBe('nosniff');
    });
  });

  describe('in development with no origins listed', () => {
    let http: ControllerApp;
    beforeAll(async () => {
      http = await start({ NODE_ENV: 'development' });
    });

    it.each(['http://localhost:5173', 'http://127.0.0.1:3000', 'http://localhost'])(
      'answers a local dev server at %s',
      async (origin) => {
        expect((await preflight(http, origin)).headers['access-control-allow-origin']).toBe(origin);
      },
    );

    it.each(['https://localhost:5173', 'http://localhost.evil.example', 'http://192.168.1.2:3000'])(
      'gives %s nothing',
      async (origin) => {
        expect((await preflight(http, origin)).headers['access-control-allow-origin']).toBeUndefined();
      },
    );
  });
});
