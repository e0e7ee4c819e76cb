// A migrated embedded database, made once per test run and loaded by every test app and medium spec:
// creating a fresh PGlite (its initdb) and migrating it cost each app start about a second more.
import { PGlite } from '@electric-sql/pglite';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations } from '../../src/database/embedded-migrations';

const TEMPLATE_VARIABLE = 'TEST_EMBEDDED_TEMPLATE';
const MIGRATIONS = join(__dirname, '..', '..', 'prisma', 'migrations');
const PGLITE_VERSION = (
  JSON.parse(
    readFileSync(
      join(__dirname, '..', '..', 'node_modules', '@electric-sql', 'pglite', 'package.json'),
      'utf8',
    ),
  ) as { version: string }
).version;

/**
 * The template's file, made if missing. It is named by the migrations it holds, so that a stale one is
 * never loaded and a current one is made once per machine rather than once per run.
 */
async function templateFile(): Promise<string> {
  // And by the PGlite and the code that made it: another version may not read its data directory, and
  // other code may apply the migrations differently.
  const hash = createHash('sha256')
    .update(PGLITE_VERSION)
    .update(readFileSync(join(__dirname, '..', '..', 'src', 'database', 'embedded-migrations.ts')));
  for (const name of readdirSync(MIGRATIONS).sort()) {
    if (name.endsWith('.toml')) continue;
    hash.update(name).update(readFileSync(join(MIGRATIONS, name, 'migration.sql')));
  }
  const file = join(tmpdir(), `bluum-test-template-${hash.digest('hex').slice(0, 16)}.tar`);
  if (existsSync(file)) return file;
  const db = new PGlite('memory://');
  try {
    await applyMigrations(db);
    const dump = await db.dumpDataDir('none');
    // Written aside and renamed: a test run started meanwhile never loads half a file.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, file);
  } finally {
    await db.close();
  }
  return file;
}

/** Makes the template (global setup, once per run) and names it in the environment the workers inherit. */
export async function prepareEmbeddedTemplate(): Promise<void> {
  if (process.env[TEMPLATE_VARIABLE]) return;
  process.env[TEMPLATE_VARIABLE] = await templateFile();
}

/**
 * Fills `dir` (the service's embedded database directory) with the migrated template, for a service
 * started as a process of its own: its first start then skips initdb and the migrations.
 */
export async function seedEmbeddedDatabaseDir(dir: string): Promise<void> {
  const template = process.env[TEMPLATE_VARIABLE] ?? (await templateFile());
  mkdirSync(dir, { recursive: true });
  const db = new PGlite(dir, { loadDataDir: new Blob([readFileSync(template)]) });
  await db.waitReady;
  await db.close();
}

/** A new in-memory database, already migrated, from the run's template (a fresh one without it). */
export async function openEmbeddedDatabase(): Promise<PGlite> {
  const file = process.env[TEMPLATE_VARIABLE];
  const db = file
    ? new PGlite('memory://', { loadDataDir: new Blob([readFileSync(file)]) })
    : new PGlite('memory://');
  await db.waitReady;
  return db;
}
