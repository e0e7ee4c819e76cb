// Run by test/footprint.e2e-spec.ts in a process of its own (node -r @swc-node/register), so that what it
// loads is the service's alone: builds and starts the app with the configuration in its environment,
// serves a read, then prints (JSON, one line) every module the process loaded, how many AsyncLocalStorage
// instances were created, and whether promise hooks run.
/* eslint-disable @typescript-eslint/no-require-imports -- the app must load after the counting starts */
import type * as AsyncHooks from 'node:async_hooks';
import type * as Bootstrap from '../../src/bootstrap';
import type * as AppConfig from '../../src/config/app-config';

const asyncHooks = require('node:async_hooks') as typeof AsyncHooks;

// Counted from before anything of the app is loaded, so one created at load time counts too.
let asyncLocalStorages = 0;
const Original = asyncHooks.AsyncLocalStorage;
// Node 24 exposes it as a getter, Node 20 as a plain property: defineProperty replaces either.
Object.defineProperty(asyncHooks, 'AsyncLocalStorage', {
  configurable: true,
  value: class Counted<T> extends Original<T> {
    constructor() {
      super();
      asyncLocalStorages += 1;
    }
  },
});

async function main(): Promise<void> {
  const { startApp } = require('../../src/bootstrap') as typeof Bootstrap;
  const { loadConfig } = require('../../src/config/app-config') as typeof AppConfig;
  const config = loadConfig(process.env);
  // A development probe is given a migrated embedded database; otherwise a new in-memory one.
  const embeddedDatabaseDir = process.env.PROBE_EMBEDDED_DATABASE_DIR ?? 'memory://';
  const { app, url } = await startApp({ ...config, embeddedDatabaseDir }, '127.0.0.1');
  await fetch(`${url}/v1/users/u1/funding-sources`);
  await fetch(`${url}/health/live`);
  // With promise hooks off, a continuation runs with no async id of its own.
  const promiseHooks = await Promise.resolve().then(() => asyncHooks.executionAsyncId() !== 0);
  process.stdout.write(
    `${JSON.stringify({ files: Object.keys(require.cache), asyncLocalStorages, promiseHooks })}\n`,
  );
  await app.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
