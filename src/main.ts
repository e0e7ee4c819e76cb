import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import { startApp } from './bootstrap';
import { ConfigError, loadConfig } from './config/app-config';

// Closing the database after the last request, beyond the requests' own Bluum budget.
const SHUTDOWN_MARGIN_MS = 5_000;

/**
 * SIGTERM/SIGINT: stop accepting, let requests in flight finish (a connect stores its item, a disconnect
 * records Bluum's answer), then close the database and exit 0. The limit is the Bluum work budget plus a
 * margin, so a request's Bluum calls can finish and their outcome be recorded; whatever is cut off past
 * it left an intent (a claimed token, a disconnect lease) that the next connect, disconnect or sync settles. The HTTP server
 * closes first: Nest's own close() would run the database's shutdown hook while requests still need it.
 */
function closeOnSignals(app: NestFastifyApplication, limitMs: number): void {
  const logger = new Logger('Shutdown');
  const shutdown = (signal: NodeJS.Signals): void => {
    logger.log(`${signal} received: finishing requests in flight`);
    setTimeout(() => {
      logger.error(`still busy after ${limitMs} ms: exiting anyway`);
      process.exit(1);
    }, limitMs).unref();
    // A request in flight keeps its keep-alive connection once answered, and server.close() would wait
    // on it: connections are closed as soon as they fall idle.
    const server: Server = app.getHttpServer();
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    app
      .getHttpAdapter()
      .getInstance()
      .close()
      .finally(() => clearInterval(idleSweep))
      .then(() => app.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const { app } = await startApp(config);
  closeOnSignals(app, config.bluumWorkBudgetMs + SHUTDOWN_MARGIN_MS);
}

void main();
