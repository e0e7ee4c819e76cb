// What a production process loads and runs: nothing production never uses (the sandbox, the embedded
// database, Swagger UI's assets when the docs are off) and no AsyncLocalStorage (on Node 20 its promise
// hooks would cost every promise of every request). Checked in a process of its own
// (test/support/footprint-probe.ts): Jest's module registry is not Node's.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { seedEmbeddedDatabaseDir } from './support/embedded-template';

const ROOT = resolve(__dirname, '..');

interface Probe {
  files: string[];
  asyncLocalStorages: number;
  promiseHooks: boolean;
}

function probe(env: Record<string, string>): Promise<Probe> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['-r', require.resolve('@swc-node/register'), join(__dirname, 'support', 'footprint-probe.ts')],
      {
        cwd: ROOT,
        // Nothing inherited: the app sees only the configuration given here.
        env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('exit', (code) => {
      const line = output.split('\n').find((candidate) => candidate.startsWith('{"files"'));
      if (code !== 0 || !line) fail(new Error(`the probe failed (${code}):\n${errors}${output}`));
      else done(JSON.parse(line) as Probe);
    });
  });
}

const PRODUCTION = {
  NODE_ENV: 'production',
  // Never reached: building the app and serving a read that fails does not need it.
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/unreachable',
  BLUUM_BASE_URL: 'https://bluum.invalid',
  BLUUM_API_KEY: 'prod_key',
  BLUUM_API_SECRET: 'prod_secret',
  AUTH_JWT_SECRET: randomBytes(36).toString('base64url'),
  RETENTION_SWEEP_SECONDS: '0',
  RECONCILE_INTERVAL_SECONDS: '0',
  LOG_LEVEL: 'fatal',
  PORT: '0',
};

/** The loaded files that belong to `part`: a folder of src/ (`src/sandbox/`) or a package. */
const loaded = (files: string[], part: string): string[] =>
  files.filter((file) =>
    file.includes(part.startsWith('src/') ? `${ROOT}/${part}` : `/node_modules/${part}/`),
  );

const NEVER_IN_PRODUCTION = [
  'src/sandbox/',
  'src/bluum/wire-fixtures/',
  'src/database/embedded-migrations',
  '@electric-sql/pglite',
  'pglite-prisma-adapter',
];
const DOCS_ONLY = ['swagger-ui-dist', '@fastify/static'];

describe('a production process', () => {
  it('loads no sandbox, no embedded database and, with DOCS_ENABLED=false, none of Swagger UI; creates no AsyncLocalStorage', async () => {
    const { files, asyncLocalStorages, promiseHooks } = await probe({ ...PRODUCTION, DOCS_ENABLED: 'false' });
    for (const part of [...NEVER_IN_PRODUCTION, ...DOCS_ONLY])
      expect({ part, files: loaded(files, part) }).toEqual({ part, files: [] });
    expect(asyncLocalStorages).toBe(0);
    expect(promiseHooks).toBe(false);
  });

  it('loads Swagger UI only when the docs are on', async () => {
    const { files } = await probe({ ...PRODUCTION, DOCS_ENABLED: 'true', DOCS_PUBLIC: 'true' });
    for (const part of DOCS_ONLY) expect(loaded(files, part)).not.toEqual([]);
    for (const part of NEVER_IN_PRODUCTION)
      expect({ part, files: loaded(files, part) }).toEqual({ part, files: [] });
  });

  // The probe sees what it is meant to: development does load the sandbox and the embedded database.
  it('is told apart from development, which loads them', async () => {
    // A migrated embedded database: a new one's initdb took most of this test's time.
    const dir = mkdtempSync(join(tmpdir(), 'bluum-footprint-'));
    try {
      await seedEmbeddedDatabaseDir(dir);
      const { files, asyncLocalStorages } = await probe({
        NODE_ENV: 'development',
        LOG_LEVEL: 'fatal',
        PORT: '0',
        PROBE_EMBEDDED_DATABASE_DIR: dir,
      });
      for (const part of NEVER_IN_PRODUCTION)
        expect({ part, loaded: loaded(files, part).length > 0 }).toEqual({ part, loaded: true });
      expect(asyncLocalStorages).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
