// npm run image:check: the production image as it is deployed, without Docker. The Dockerfile's steps run
// in a clean folder outside this checkout (scripts/dockerfile.ts), so the runtime stage resolves modules
// from what it installed itself, production dependencies only: a module the service or `db:migrate` needs
// that devDependencies holds fails here. Then, from the runtime stage's WORKDIR, as the image would:
// `npm run db:migrate` against a fresh database, the image's CMD with its ENV (NODE_ENV=production),
// `/health/ready` 200, the HEALTHCHECK's own command, and the README's walk-through (register a user, a
// link token, connect, list, read one, disconnect) against the Bluum stand-in over HTTPS.
//
// It must run on the Node.js major the image's base names (node:24-… → Node 24 on PATH): the image's
// runtime is what is tested. Settings (environment): IMAGE_CHECK_ADMIN_DATABASE_URL (default
// postgresql://postgres@127.0.0.1:5432/postgres), IMAGE_CHECK_KEEP=1 keeps the folder.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signHs256 } from '../src/auth/jwt';
import { FakeBluum } from '../test/support/fake-bluum-server';
import { freePort, selfSignedCertificate, serviceKeys, throwawayDatabase } from '../bench/lib/harness';
import { parseDockerfile, runDockerfile } from './dockerfile';

const ROOT = path.join(__dirname, '..');
const ADMIN_URL =
  process.env.IMAGE_CHECK_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const BLUUM_CREDENTIALS = { apiKey: 'image_key', apiSecret: 'image_secret' };

const log = (line = ''): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Megabytes on disk under `folder` (du, so hard links and sparse files count as the image would). */
function sizeMb(folder: string): number {
  if (!fs.existsSync(folder)) return 0;
  return Number(execFileSync('du', ['-sk', folder], { encoding: 'utf8' }).split('\t')[0]) / 1024;
}

async function call(
  base: string,
  method: string,
  route: string,
  bearer: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function expect(what: string, ok: boolean, detail?: unknown): void {
  if (!ok) throw new Error(`${what} failed${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  log(`  ok  ${what}`);
}

async function main(): Promise<void> {
  const stages = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const majors = new Set(stages.map((stage) => /^node:(\d+)/.exec(stage.base)?.[1] ?? stage.base));
  if (majors.size !== 1) throw new Error(`the stages start from different bases: ${[...majors].join(', ')}`);
  const [major] = majors;
  if (process.versions.node.split('.')[0] !== major) {
    throw new Error(
      `the image runs Node.js ${major} (${stages[0].base}); this is Node.js ${process.versions.node}: put Node ${major} first on PATH`,
    );
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'image-check-'));
  const children: ChildProcess[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    log(`The Dockerfile's steps, in ${out} (Node.js ${process.versions.node}):`);
    const started = performance.now();
    const image = runDockerfile(stages, {
      context: ROOT,
      out,
      // A RUN reaches the registry as `docker build` would from this machine: with its environment (its
      // CA bundle, above all). What the service is started with below is the image's alone.
      baseEnv: { ...process.env, npm_config_update_notifier: 'false' },
      log,
    });
    log(`built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const buildModules = sizeMb(path.join(out, 'build', 'app', 'node_modules'));
    const runtimeModules = sizeMb(path.join(image.workdir, 'node_modules'));
    log(
      `runtime stage: ${sizeMb(image.workdir).toFixed(0)} MB in all, node_modules ${runtimeModules.toFixed(0)} MB ` +
        `(the build stage's node_modules, which the image used to copy: ${buildModules.toFixed(0)} MB)`,
    );

    const db = await throwawayDatabase({
      adminUrl: ADMIN_URL,
      prefix: 'bluum_image',
      adminVariable: 'IMAGE_CHECK_ADMIN_DATABASE_URL',
    });
    cleanups.push(() => db.drop());
    // Only what the image has: its ENV, the machine's PATH for `node` and `npm`, and the settings given.
    const imageEnv = (extra: Record<string, string>): Record<string, string> => ({
      PATH: process.env.PATH ?? '',
      HOME: out,
      ...image.env,
      ...extra,
    });
    log('npm run db:migrate, from the runtime stage:');
    execFileSync('npm', ['run', '-s', 'db:migrate'], {
      cwd: image.workdir,
      env: imageEnv({ DATABASE_URL: db.url }),
      stdio: ['ignore', 'inherit', 'inherit'],
    });

    const certificate = selfSignedCertificate(out);
    const bluum = await FakeBluum.start({
      credentials: BLUUM_CREDENTIALS,
      tls: { key: fs.readFileSync(certificate.key), cert: fs.readFileSync(certificate.cert) },
      emptyDeleteReply: true,
    });
    cleanups.push(() => bluum.close());
    const secret = randomBytes(36).toString('base64url');
    // Production takes no admin from AUTH_JWT_SECRET: the check's admin has a service key of its own.
    const services = serviceKeys([{ client: 'image-admin', admin: true }]);
    const port = await freePort();
    const serviceLog = path.join(out, 'service.log');
    const output = fs.openSync(serviceLog, 'a');
    log(`CMD ${JSON.stringify(image.cmd)}, port ${port}:`);
    const [command, ...args] = image.cmd;
    const service = spawn(command, args, {
      cwd: image.workdir,
      env: imageEnv({
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        AUTH_JWT_SECRET: secret,
        AUTH_SERVICE_KEYS: services.env,
        BLUUM_BASE_URL: bluum.url,
        BLUUM_API_KEY: BLUUM_CREDENTIALS.apiKey,
        BLUUM_API_SECRET: BLUUM_CREDENTIALS.apiSecret,
        NODE_EXTRA_CA_CERTS: certificate.cert,
      }),
      stdio: ['ignore', output, output],
    });
    fs.closeSync(output);
    children.push(service);
    const base = `http://127.0.0.1:${port}`;
    const readyBy = performance.now() + 30_000;
    for (;;) {
      if (service.exitCode !== null) {
        throw new Error(
          `the service exited with ${service.exitCode}:\n${fs.readFileSync(serviceLog, 'utf8')}`,
        );
      }
      const status = await fetch(`${base}/health/ready`).then(
        (res) => res.status,
        () => 0,
      );
      if (status === 200) break;
      if (performance.now() > readyBy)
        throw new Error(`not ready within 30 s:\n${fs.readFileSync(serviceLog, 'utf8')}`);
      await sleep(50);
    }
    expect('GET /health/ready 200', true);
    if (image.healthcheck) {
      // The HEALTHCHECK names the image's port; here the service listens on a free one.
      const exposed = image.exposed[0] ?? 3000;
      execFileSync('/bin/sh', ['-c', image.healthcheck.replaceAll(`:${exposed}/`, `:${port}/`)], {
        cwd: image.workdir,
        env: imageEnv({}),
        stdio: 'inherit',
      });
      expect('HEALTHCHECK command exits 0', true);
    }

    const iat = Math.floor(Date.now() / 1000);
    const user = 'image_user';
    const userToken = signHs256({ sub: user, iat, exp: iat + 600 }, secret);
    const adminToken = services.token('image-admin', signHs256, 600);
    const put = await call(base, 'PUT', `/v1/users/${user}`, adminToken, {
      bluumAccountId: 'acct-image-check',
    });
    expect('PUT /v1/users/{userId} 201', put.status === 201, put);
    const link = await call(
      base,
      'POST',
      `/v1/users/${user}/funding-sources/plaid/link-token`,
      userToken,
      {},
    );
    expect(
      'POST …/plaid/link-token 201',
      link.status === 201 && typeof link.body.linkToken === 'string',
      link,
    );
    const connect = await call(base, 'POST', `/v1/users/${user}/funding-sources/plaid/connect`, userToken, {
      publicToken: 'public-sandbox-image-check-0001',
    });
    const linked = connect.body.fundingSources as Array<Record<string, unknown>> | undefined;
    expect('POST …/plaid/connect 201', connect.status === 201 && (linked?.length ?? 0) >= 1, connect.status);
    const list = await call(base, 'GET', `/v1/users/${user}/funding-sources`, userToken);
    const data = list.body.data as Array<Record<string, unknown>> | undefined;
    expect(
      'GET …/funding-sources lists them',
      list.status === 200 && data?.length === linked?.length,
      list.status,
    );
    const id = String(data?.[0]?.id);
    const one = await call(base, 'GET', `/v1/users/${user}/funding-sources/${id}`, userToken);
    expect('GET …/funding-sources/{id} 200', one.status === 200 && one.body.id === id, one.status);
    const gone = await call(base, 'DELETE', `/v1/users/${user}/funding-sources/${id}`, userToken);
    expect(
      'DELETE …/funding-sources/{id} disconnects',
      gone.status === 200 && gone.body.status === 'disconnected',
      gone.status,
    );
    expect('Bluum was called over HTTPS for each step', bluum.requests.length >= 3, bluum.requests.length);
  } finally {
    for (const child of children) {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(12_000)]);
        child.kill('SIGKILL');
      }
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (process.env.IMAGE_CHECK_KEEP === '1') log(`kept ${out}`);
    else fs.rmSync(out, { recursive: true, force: true });
  }
}

main().then(
  () => log('image check passed'),
  (error: unknown) => {
    process.stderr.write(`image check failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
