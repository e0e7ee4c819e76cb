// Unit specs sit beside the code (src/**/*.spec.ts); medium specs (test/medium/) run repositories and
// services on a real database; e2e specs in test/ run the real app over HTTP.
const fs = require('node:fs');
const path = require('node:path');

// NestJS 12 and some of its dependencies ship only as ES modules, which Jest on Node 20 cannot require.
// SWC compiles exactly those packages (found by their package.json "type") to CommonJS, and turns
// dynamic import() into require(), which Jest's VM cannot run without an experimental flag.
function esmPackages(root) {
  const found = new Set(['@electric-sql']);
  const visit = (dir, scope) => {
    for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (entry.startsWith('.')) continue;
      if (!scope && entry.startsWith('@')) {
        visit(path.join(dir, entry), entry);
        continue;
      }
      try {
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, entry, 'package.json'), 'utf8'));
        if (pkg.type === 'module') found.add(scope ? `${scope}/${entry}` : entry);
      } catch {
        // not a package
      }
    }
  };
  visit(root);
  return [...found].map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs', ignoreDynamic: false },
  sourceMaps: 'inline',
};
const common = {
  transform: { '^.+\\.(t|j|mj|cj)s$': ['@swc/jest', swc] },
  transformIgnorePatterns: [
    `/node_modules/(?!(${esmPackages(path.join(__dirname, 'node_modules')).join('|')})/)`,
  ],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};

/** @type {import('jest').Config} */
module.exports = {
  // e2e hooks start an app on a fresh embedded database, which takes seconds on two cores.
  testTimeout: 30_000,
  // Two spec files at a time even on two cores: an e2e spec spends much of its time waiting (on
  // PostgreSQL, on a stand-in's delay, on a child process), and every spec keeps to its own users, roles
  // and databases, so they do not meet. Jest's default (cores - 1) ran them one by one here.
  maxWorkers: 2,
  projects: [
    // The e2e fault server's own spec sits beside it: a spec of a test tool, with no app and no database.
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/support/**/*.spec.ts'],
    },
    {
      ...common,
      // Repositories and services on a real database, without the app or HTTP (test/medium/).
      displayName: 'medium',
      testMatch: ['<rootDir>/test/medium/**/*.medium-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      // The database-fault spec breaks the network link to PostgreSQL with a TCP proxy, and the failover
      // spec makes a role's sessions read-only; the embedded database has neither, so those specs run
      // only on PostgreSQL (CI's first pass).
      testPathIgnorePatterns: process.env.TEST_DATABASE_URL
        ? []
        : ['/test/database-faults\\.e2e-spec\\.ts$', '/test/failover\\.e2e-spec\\.ts$'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      ...common,
      // The e2e specs that touch Bluum's wire shapes, run a second time against Bluum's investors
      // generation (test/generations/investors.generation-spec.ts says which, and why in one file).
      displayName: 'e2e-investors',
      testMatch: ['<rootDir>/test/generations/*.generation-spec.ts'],
      setupFiles: ['<rootDir>/test/support/investors-run.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      ...common,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
