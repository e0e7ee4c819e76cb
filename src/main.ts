import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import { startApp } from './bootstrap';
import { ConfigError, loadConfig } from './config/app-config';

const SHUTDOWN_LIMIT_MS = 10_000;

/**
 * SIGTERM/SIGINT: stop accepting, let requests in flight finish (a connect stores its item), then close
 * the database and exit 0, all within SHUTDOWN_LIMIT_MS. The HTTP server closes first: Nest's own
 * close() would run the database's shutdown hook while requests still need it.
 */
function closeOnSignals(app: NestFastifyApplication): void {
  const logger = new Logger('Shutdown');
  const shutdown = (signal: NodeJS.Signals): void => {
    logger.log(`${signal} received: finishing requests in flight`);
    setTimeout(() => {
      logger.error(`still busy after ${SHUTDOWN_LIMIT_MS} ms: exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
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
  closeOnSignals(app);
}

void main();
