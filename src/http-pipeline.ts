// What every request meets, whatever its route: the Fastify adapter's limits and ids, JSON as the only
// body, our request id on every answer, validation and the error envelope. bootstrap.ts builds the app
// with it, and the controller specs build theirs with it, so a controller answers there as in the app.
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { AppError } from './common/app-error';
import { jsonNestsDeeperThan } from './common/json-depth';
import { validationPipe } from './common/validation-pipe';
import type { HttpConfig } from './config/app-config';

export const BODY_LIMIT_BYTES = 64 * 1024;
// No body this API reads nests deeper than a few levels; a deeper one is refused before anything walks it.
export const MAX_JSON_DEPTH = 32;
// Node checks its header and request timeouts this often (its default, 30 s, would let a trickling client
// hold a socket that much longer).
const CONNECTIONS_CHECK_MS = 1_000;

const jsonTooDeep = (): AppError =>
  new AppError('MALFORMED_JSON', `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`);

export function httpAdapter(config: Pick<HttpConfig, 'httpRequestTimeoutMs'>): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Fastify's default (100) would answer 414 for user ids the contract allows (up to 128 characters).
    routerOptions: { maxParamLength: 256 },
    // Our own id, always: a client-chosen one must not pose as ours in logs and the audit trail. A safe
    // X-Request-Id from the client is kept beside it as clientRequestId (onRequest below).
    genReqId: () => randomUUID(),
    logger: false,
    // No Nest middleware here (hooks and guards do that work): without middie, no request passes through
    // a middleware runner that has nothing to run.
    skipMiddie: true,
    // A request's headers and body must arrive within HTTP_REQUEST_TIMEOUT_MS: a client trickling bytes
    // holds a socket no longer. The time the handler then takes (a Bluum call) is not counted.
    requestTimeout: config.httpRequestTimeoutMs,
    http: {
      headersTimeout: config.httpRequestTimeoutMs,
      requestTimeout: config.httpRequestTimeoutMs,
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    },
  });
}

/** The body parser, the request-id header, the exception filter and the validation pipe. */
export function useRequestPipeline(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  // JSON is the only body this API reads; anything else is a 415, not a string handed to validation.
  fastify.removeContentTypeParser('text/plain');
  // Fastify's own JSON parser (prototype-poisoning checks included), after a nesting-depth check.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
      done(jsonTooDeep(), undefined);
      return;
    }
    void parseJson(request, body as string, done);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(validationPipe());
}
