// Preloaded (node -r) into the service by bench/footprint.js: on SIGUSR2 it writes to the file named by
// FOOTPRINT_CENSUS what the process has loaded and holds: the modules in require.cache by package, the
// AsyncLocalStorage instances created, whether promise hooks run, and process.memoryUsage().
'use strict';
const asyncHooks = require('node:async_hooks');
const { writeFileSync } = require('node:fs');

// Counted from before the service loads anything: a module that creates one at load time counts too.
let asyncLocalStorages = 0;
const Original = asyncHooks.AsyncLocalStorage;
// Node 24 exposes it as a getter, Node 20 as a plain property: defineProperty replaces either.
Object.defineProperty(asyncHooks, 'AsyncLocalStorage', {
  configurable: true,
  value: class CountedAsyncLocalStorage extends Original {
    constructor(...args) {
      super(...args);
      asyncLocalStorages += 1;
    }
  },
});

/** The package a loaded file belongs to (its last node_modules segment), or "(service)". */
function packageOf(file) {
  const at = file.lastIndexOf('/node_modules/');
  if (at < 0) return '(service)';
  const [scope, name] = file.slice(at + '/node_modules/'.length).split('/');
  return scope.startsWith('@') ? `${scope}/${name}` : scope;
}

process.on('SIGUSR2', () => {
  const files = Object.keys(require.cache);
  const byPackage = {};
  for (const file of files) byPackage[packageOf(file)] = (byPackage[packageOf(file)] ?? 0) + 1;
  // Without promise hooks a continuation runs with no async id of its own (0).
  Promise.resolve().then(() => {
    writeFileSync(
      process.env.FOOTPRINT_CENSUS,
      JSON.stringify({
        modules: files.length,
        byPackage,
        files,
        asyncLocalStorages,
        promiseHooks: asyncHooks.executionAsyncId() !== 0,
        memory: process.memoryUsage(),
        // With --expose-gc: what stays once the garbage is collected.
        ...(global.gc ? { afterGc: (global.gc(), process.memoryUsage()) } : {}),
      }),
    );
  });
});
