// The one place that builds the application: main.ts and the e2e tests both go through it.
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { DestinationStream } from 'pino';
import type { PGlite } from '@electric-sql/pglite';
import { AppModule } from './app.module';
import { BluumEndpoint } from './bluum/bluum-endpoint';
import type { AppConfig } from './config/app-config';
import { AppLogger, createPinoLogger } from './logging/app-logger';
import { RequestContext } from './logging/request-context';
import { MetricsService } from './metrics/metrics.service';
import { registerBrowserEdges } from './common/browser-edges';
import { httpAdapter, useRequestPipeline } from './http-pipeline';

export interface StartedApp {
  app: NestFastifyApplication;
  /** e.g. http://127.0.0.1:3000 */
  url: string;
}

export interface AppOptions {
  /** Where log lines go (default: stdout); tests read them from here. */
  logDestination?: DestinationStream;
  /** An embedded database opened by the caller, shared by several app instances (tests of scaling out). */
  sharedEmbeddedDatabase?: PGlite;
}

/** Builds the app with every pipe, filter and doc wired in; does not listen. */
export async function createApp(
  config: AppConfig,
  options: AppOptions = {},
): Promise<NestFastifyApplication> {
  const logger = createPinoLogger(config.logLevel, options.logDestination);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forConfig(config, options.sharedEmbeddedDatabase ?? null),
    httpAdapter(config),
    {
      logger: new AppLogger(logger),
      abortOnError: false,
      // The JSON parser is ours (useRequestPipeline): Fastify's own, behind a nesting-depth check.
      bodyParser: false,
    },
  );

  useRequestPipeline(app);
  const fastify = app.getHttpAdapter().getInstance();
  // One line per request: no headers, no body, no query string (nothing a token could hide in). A
  // successful read is a debug line: deposit services read on every transfer, and a serialized line per
  // read was a measurable share of the read path (`npm run bench`). Writes and failures stay at info.
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const read = request.method === 'GET' || request.method === 'HEAD';
    const level = read && reply.statusCode < 400 ? 'debug' : 'info';
    if (!logger.isLevelEnabled(level)) {
      done();
      return;
    }
    logger[level](
      {
        ...RequestContext.of(request).fields(),
        method: request.method,
        route,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime),
      },
      'request completed',
    );
    done();
  });

  // Built on the first request for /docs, not at boot: start-up time is what a new instance waits for.
  const document = () =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Bluum bank linking')
        .setDescription(
          "Links a user's bank account for ACH transfers through Bluum and Plaid: link token → Plaid Link → public-token exchange → stored funding sources that deposit services read (`transferOptions`: `plaid_options` or `funding_source_id`, by `BLUUM_API_VERSION`).",
        )
        .setVersion('1')
        .setLicense('Proprietary', '')
        .addServer('/', 'This service')
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "The identity provider's access token; a service's own HS256 token (AUTH_SERVICE_KEYS: header `kid`, acting as that client with its entry's scopes); or, for end users, an HS256 token of AUTH_JWT_SECRET (in production: its `sub` alone). At most AUTH_MAX_TOKEN_LIFETIME_SECONDS (24 h) from `iat`. Every caller has a budget per minute (429 `RATE_LIMITED`).",
        })
        .build(),
    );
  if (config.docsServed) SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  await registerBrowserEdges(app, config);
  return app;
}

/** Builds the app and listens on `port` (0: any free port); points Bluum at the sandbox when it is Bluum. */
export async function startApp(
  config: AppConfig,
  host = config.host,
  options: AppOptions = {},
): Promise<StartedApp> {
  const app = await createApp(config, options);
  await app.listen(config.port, host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://127.0.0.1:${port}`;
  app.get(BluumEndpoint).attachSandbox(url);

  const logger = new Logger('Bootstrap');
  if (config.developmentDefaults.length > 0) {
    logger.warn(`Development defaults in use for: ${config.developmentDefaults.join(', ')}`);
  }
  if (config.databaseUrl === null)
    logger.log(`Database: embedded PostgreSQL in ${config.embeddedDatabaseDir}`);
  if (app.get(BluumEndpoint).isSandbox) logger.log(`Bluum: built-in sandbox at ${url}/sandbox/bluum`);
  const bound = typeof address === 'object' && address !== null ? address.address : host;
  logger.log(`Listening on ${url} (bound to ${bound}${config.docsServed ? `; docs at ${url}/docs` : ''})`);
  if (config.docsEnabled && !config.docsServed)
    logger.log('Docs off: production serves them only with DOCS_PUBLIC=true');
  if (!config.metricsOpen && config.metricsToken === null) {
    logger.warn(
      '/metrics answers 401 to everyone: set METRICS_TOKEN (or METRICS_PUBLIC=true on a private network)',
    );
  }
  return { app, url };
}
