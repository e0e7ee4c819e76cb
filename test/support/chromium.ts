// Debian's Chromium for the browser specs (driven by playwright-core; Playwright's own download is never
// used). `npm run test:browser` (REQUIRE_BROWSER=1) demands one; `npm test` skips those specs, saying so,
// only where none is installed.
import { existsSync } from 'node:fs';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

// CHROMIUM_PATH, when set, is the only candidate: a wrong path must not quietly fall back to another browser.
const candidates = process.env.CHROMIUM_PATH
  ? [process.env.CHROMIUM_PATH]
  : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export const browserPath = candidates.find((candidate) => existsSync(candidate));

if (!browserPath) {
  if (process.env.REQUIRE_BROWSER === '1') {
    throw new Error('No Chromium found: apt-get install -y chromium, or set CHROMIUM_PATH.');
  }
  console.warn(
    'Browser test skipped: no Chromium on this machine (apt-get install -y chromium, or set CHROMIUM_PATH).',
  );
}

/** `describe` where a browser is installed, otherwise `describe.skip` (after the warning above). */
export const describeInBrowser = browserPath ? describe : describe.skip;
