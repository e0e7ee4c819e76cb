// What browsers are told: which other origins may call the API (CORS, @fastify/cors) and the headers
// that keep bank data out of caches, sniffers and frames (@fastify/helmet). Well-kept plugins rather
// than hand-written headers.
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../config/app-config';

// Development's default: a frontend's dev server on any local port.
const LOCALHOST_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;
// JSON is all the API serves: nothing may load, run or frame it.
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export async function registerBrowserEdges(app: NestFastifyApplication, config: AppConfig): Promise<void> {
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
  await app.register(fastifyHelmet, {
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
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      if (request.url.startsWith('/v1/') || request.url === '/v1') {
        void reply.header('cache-control', 'no-store').header('content-security-policy', API_CSP);
      }
      done();
    });
}
