// With TEST_DATABASE_URL, the e2e suite runs on that PostgreSQL: its public schema is rebuilt and the
// migrations applied with the same `npm run db:migrate` production uses. Without it, each test app
// runs on its own in-memory embedded PostgreSQL (PGlite), loaded from a template migrated here once.
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { prepareEmbeddedTemplate } from './embedded-template';

export default async function globalSetup(): Promise<void> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    await prepareEmbeddedTemplate();
    return;
  }
  // The medium, e2e and browser projects share this setup; one jest run prepares the database once.
  if (process.env.TEST_DATABASE_PREPARED === url) return;
  const database = new URL(url).pathname.slice(1);
  // The schema is dropped: refuse anything that does not look like a test database.
  if (!/test/i.test(database)) {
    throw new Error(
      `TEST_DATABASE_URL must name a test database (its name must contain "test"), got "${database}"`,
    );
  }
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA IF EXISTS public CASCADE');
    await client.query('CREATE SCHEMA public');
  } finally {
    await client.end();
  }
  execFileSync('npm', ['run', '-s', 'db:migrate'], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.env.TEST_DATABASE_PREPARED = url;
}
