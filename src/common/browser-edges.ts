// What browsers are told: which other origins may call the API (CORS, @fastify/cors) and the headers
// that keep bank data out of caches, sniffers and frames (helmet). Well-kept libraries rather than
// hand-written headers.
import fastifyCors from '@fastify/cors';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpConfig } from '../config/app-config';

// Development's default: a frontend's dev server on any local port.
const LOCALHOST_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;
// JSON is all the API serves: nothing may load, run or frame it.
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The header policy: helmet's, with these options. */
export const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  // Swagger UI's own page needs its scripts and styles; /v1 gets the stricter API_CSP below, and the
  // sandbox's pages set their own.
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      objectSrc: ["'none'"],
    },
  },
  referrerPolicy: { policy: 'no-referrer' },
  // Other origins read the API through CORS; this header would only get in the way of that.
  crossOriginResourcePolicy: false,
};

/**
 * The headers helmet sets with `options`, names lowercased (Fastify's reply headers; HTTP names are
 * case-insensitive). Nothing in the policy depends on the request (no nonces, no functions), so helmet
 * runs once, at boot, on a response that only records what it is given. @fastify/helmet ran helmet anew
 * on every request (parsing the CSP directives, dashifying names: a measurable share of the read path).
 */
export function helmetHeaders(options: Readonly<HelmetOptions>): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    // helmet throws a bad option itself; next(err) is its older way of saying the same.
    if (err) throw err instanceof Error ? err : new Error('helmet refused its options');
  });
  return Object.freeze(headers);
}

export async function registerBrowserEdges(app: NestFastifyApplication, config: HttpConfig): Promise<void> {
  const allowed = new Set(config.corsAllowedOrigins);
  await app.register(fastifyCors, {
    // An origin on the list is answered with itself; any other gets no CORS headers at all (never an
    // echo of whatever was sent, never `*`).
    origin: (origin, done) => {
      done(
        null,
        origin !== undefined &&
          (allowed.has(origin) || (config.corsAllowLocalhost && LOCALHOST_ORIGIN.test(origin))),
      );
    },
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after', 'idempotent-replayed'],
    // Bearer tokens, never cookies: no credentials mode.
    credentials: false,
    maxAge: 600,
    optionsSuccessStatus: 204,
  });
  const everywhere = helmetHeaders(HELMET_OPTIONS);
  // JSON only, and bank data: never cached, never loading anything.
  const api = Object.freeze({
    ...everywhere,
    'cache-control': 'no-store',
    'content-security-policy': API_CSP,
  });
  // After CORS's own hook, as @fastify/helmet was: a preflight CORS answers gets neither set. Chosen by
  // the route Fastify matched, never by the raw URL: `/%761/users/…` is routed as `/v1/users/…` and must
  // be answered as it. A request no route matched gets the API's stricter set.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      const route = request.routeOptions.url;
      void reply.headers(
        route === undefined || route === '/v1' || route.startsWith('/v1/') ? api : everywhere,
      );
      done();
    });
}
