// The demo page and the sandbox's hosted link, clicked through in a real Chromium (Debian's, driven by
// playwright-core) against the real service on PostgreSQL. `npm run test:browser` demands a browser;
// `npm test` skips this file, saying so, only where none is installed.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { FundingSourceDto } from '../../src/funding-sources/dto/funding-source.dto';
import { startTestApp, type TestApp, uniqueUserId } from '../support/test-app';
import { browserPath, CHROMIUM_FLAGS, describeInBrowser } from '../support/chromium';
import { tokenFor } from '../support/tokens';

const SCREENSHOT = join(__dirname, '..', '..', '.artifacts', 'demo-linked.png');
const SCREENSHOT_ERROR = join(__dirname, '..', '..', '.artifacts', 'demo-error.png');

/** A port that was free a moment ago: the development allow-list of completion URIs is built from PORT. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

const byTestId = (page: Page, id: string) => page.getByTestId(id);

describeInBrowser('demo page and hosted link in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  /** Every answer of 400 or more the page received, as "status /path"; each test says which it expects. */
  let failedResponses: string[];
  /** When the current test started (Date.now()). */
  let testStarted: number;

  beforeAll(async () => {
    app = await startTestApp({ NODE_ENV: 'development', PORT: String(await freePort()) });
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  beforeEach(async () => {
    testStarted = Date.now();
    page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    problems = [];
    failedResponses = [];
    // A script error or a CSP violation shows up here and fails the test.
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // Chromium logs every 4xx it loads; those are checked one by one in failedResponses instead.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('response', (response) => {
      if (response.status() >= 400)
        failedResponses.push(`${response.status()} ${new URL(response.url()).pathname}`);
    });
  });
  afterEach(async () => {
    await page.close();
    expect(problems).toEqual([]);
  });

  /** A full-page screenshot to `path`; fails unless a non-empty file was written there by this test. */
  async function screenshot(path: string): Promise<void> {
    mkdirSync(join(path, '..'), { recursive: true });
    rmSync(path, { force: true });
    await page.screenshot({ path, fullPage: true });
    const written = statSync(path);
    expect(written.size).toBeGreaterThan(0);
    expect(written.mtimeMs).toBeGreaterThanOrEqual(testStarted);
  }

  /** Waits until the element's whole text is `text` (Playwright's own `expect` belongs to its test runner). */
  async function waitForText(id: string, text: string): Promise<void> {
    const locator = byTestId(page, id);
    const deadline = Date.now() + 10_000;
    let current = await locator.textContent();
    while (current !== text) {
      if (Date.now() > deadline) throw new Error(`${id} reads "${current}", never "${text}"`);
      await page.waitForTimeout(50);
      current = await locator.textContent();
    }
  }

  /** Waits until the page has signed some user in (the placeholder is gone). */
  async function waitForAnyUser(): Promise<void> {
    const locator = byTestId(page, 'current-user');
    const deadline = Date.now() + 10_000;
    while ((await locator.textContent()) === '…') {
      if (Date.now() > deadline) throw new Error('the page never signed a user in');
      await page.waitForTimeout(50);
    }
  }

  /** Opens the demo page as a new demo user. */
  async function openAs(userId: string): Promise<void> {
    await page.goto(`${app.url}/`);
    // The page first signs in a user of its own; switching before it has is the race a person never runs.
    await waitForAnyUser();
    await byTestId(page, 'demo-user-id').fill(userId);
    await byTestId(page, 'use-user').click();
    await waitForText('current-user', userId);
  }

  /** Link bank → the hosted link → the given institution's credential form. */
  async function openHostedLink(institution: string): Promise<void> {
    await byTestId(page, 'link-bank').click();
    await page.waitForURL(/\/sandbox\/link\?token=link-sandbox-/);
    await byTestId(page, 'institution').filter({ hasText: institution }).click();
    await waitForText('credentials-title', `Log in to ${institution}`);
  }

  async function logIn(username: string, password: string): Promise<void> {
    await byTestId(page, 'sandbox-username').fill(username);
    await byTestId(page, 'sandbox-password').fill(password);
    await byTestId(page, 'sandbox-submit').click();
  }

  async function linkBank(institution: string): Promise<void> {
    await openHostedLink(institution);
    await logIn('user_good', 'pass_good');
    await byTestId(page, 'link-result').waitFor({ state: 'visible' });
  }

  async function storedSources(userId: string): Promise<FundingSourceDto[]> {
    const res = await app.request('GET', `/v1/users/${userId}/funding-sources`, { token: tokenFor(userId) });
    expect(res.status).toBe(200);
    return res.body.data;
  }

  const texts = (id: string) => byTestId(page, id).allTextContents();

  it('links a bank: hosted link, user_good / pass_good, back to the page, Bank linked! and its accounts', async () => {
    const userId = uniqueUserId('demo');
    await openAs(userId);
    await expect(byTestId(page, 'no-funding-sources').isVisible()).resolves.toBe(true);

    await linkBank('First Platypus Bank');

    expect(await byTestId(page, 'link-result').textContent()).toBe('Bank linked!');
    expect(await texts('linked-account')).toEqual([
      'First Platypus Bank · Plaid Checking ••••0000 · checking',
      'First Platypus Bank · Plaid Saving ••••1111 · savings',
    ]);
    // Each account with its stored status.
    expect(await texts('funding-source')).toEqual([
      'Plaid Checking ••••0000 · checking active',
      'Plaid Saving ••••1111 · savings active',
    ]);
    expect(await byTestId(page, 'link-again-hint').count()).toBe(0);
    // The public token came back in the fragment and is gone from the address bar.
    expect(new URL(page.url()).hash).toBe('');
    expect(new URL(page.url()).pathname).toBe('/');

    const stored = await storedSources(userId);
    expect(stored.map((source) => [source.institutionName, source.accountName, source.mask])).toEqual(
      expect.arrayContaining([
        ['First Platypus Bank', 'Plaid Checking', '0000'],
        ['First Platypus Bank', 'Plaid Saving', '1111'],
      ]),
    );
    expect(stored).toHaveLength(2);
    expect(failedResponses).toEqual([]);

    await screenshot(SCREENSHOT);
  });

  // `BLUUM_API_VERSION=investors npm start`: the same page links a bank through Bluum's investors routes,
  // each bank account a funding source of its own there.
  it("links a bank the same way on Bluum's investors generation, each account sent to Bluum by its fs_ id", async () => {
    const accountsApp = app;
    app = await startTestApp({
      NODE_ENV: 'development',
      PORT: String(await freePort()),
      BLUUM_API_VERSION: 'investors',
    });
    try {
      const userId = uniqueUserId('demo');
      await openAs(userId);
      await linkBank('First Platypus Bank');

      expect(await byTestId(page, 'link-result').textContent()).toBe('Bank linked!');
      expect(await texts('funding-source')).toEqual([
        'Plaid Checking ••••0000 · checking active',
        'Plaid Saving ••••1111 · savings active',
      ]);
      const stored = await storedSources(userId);
      expect(stored.map((source) => source.transferOptions)).toEqual([
        { funding_source_id: expect.stringMatching(/^fs_/) },
        { funding_source_id: expect.stringMatching(/^fs_/) },
      ]);
      const user = await app.prisma.user.findUniqueOrThrow({ where: { id: userId } });
      expect(user.bluumAccountId).toMatch(/^inv_sbx_/);
      expect(failedResponses).toEqual([]);
    } finally {
      await app.close();
      app = accountsApp;
    }
  });

  it('says the credentials were not correct, keeps the person on the form, then links with the right ones', async () => {
    const userId = uniqueUserId('demo');
    await openAs(userId);
    await openHostedLink('Tartan Bank');

    await logIn('user_good', 'pass_wrong');
    const error = byTestId(page, 'sandbox-error');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toContain('The credentials were not correct');
    expect(page.url()).toContain('/sandbox/link');
    expect(await storedSources(userId)).toEqual([]);

    await logIn('user_good', 'pass_good');
    await byTestId(page, 'link-result').waitFor({ state: 'visible' });
    expect(await byTestId(page, 'link-result').textContent()).toBe('Bank linked!');
    expect(await texts('funding-source')).toHaveLength(2);
    expect((await storedSources(userId)).map((source) => source.institutionName)).toEqual([
      'Tartan Bank',
      'Tartan Bank',
    ]);
    expect(failedResponses).toEqual(['400 /sandbox/link/complete']);
  });

  it('leaves the user field alone while a person is in it: what they type is never appended to the page id', async () => {
    const userId = uniqueUserId('demo');
    let arrived!: () => void;
    const focused = new Promise<void>((resolve) => (arrived = resolve));
    let first = true;
    await page.route('**/sandbox/demo-users', async (route) => {
      if (first) {
        first = false;
        await focused;
      }
      await route.continue();
    });
    await page.goto(`${app.url}/`);
    // In the field, nothing typed yet: the page's first user lands now (Playwright's fill selects, then types).
    await byTestId(page, 'demo-user-id').focus();
    arrived();
    const deadline = Date.now() + 10_000;
    while ((await byTestId(page, 'current-user').textContent())?.startsWith('demo-') !== true) {
      if (Date.now() > deadline) throw new Error('the first demo user never arrived');
      await page.waitForTimeout(50);
    }
    expect(await byTestId(page, 'demo-user-id').inputValue()).toBe('');
    await page.keyboard.type(userId);
    await byTestId(page, 'use-user').click();
    await waitForText('current-user', userId);
  });

  it('keeps the user id a person typed while the page was still loading its first user', async () => {
    const userId = uniqueUserId('demo');
    // The page's first demo user arrives only after the person has typed (a slow network, a busy CI).
    // It is held until the typing is done, not for a fixed time: on a loaded machine a fixed delay could
    // end in the middle of the typing and prove nothing (or fail for the wrong reason).
    let typed!: () => void;
    const typingDone = new Promise<void>((resolve) => (typed = resolve));
    let first = true;
    await page.route('**/sandbox/demo-users', async (route) => {
      if (first) {
        first = false;
        await typingDone;
      }
      await route.continue();
    });
    await page.goto(`${app.url}/`);
    await byTestId(page, 'demo-user-id').fill(userId);
    typed();
    // The made-up first user lands (the page now acts for it) and leaves the typed id alone.
    const deadline = Date.now() + 10_000;
    while ((await byTestId(page, 'current-user').textContent())?.startsWith('demo-') !== true) {
      if (Date.now() > deadline) throw new Error('the first demo user never arrived');
      await page.waitForTimeout(50);
    }
    expect(await byTestId(page, 'demo-user-id').inputValue()).toBe(userId);
    await byTestId(page, 'use-user').click();
    await waitForText('current-user', userId);
    expect(failedResponses).toEqual([]);
  });

  it('comes back from Cancel without linking anything', async () => {
    const userId = uniqueUserId('demo');
    await openAs(userId);
    await byTestId(page, 'link-bank').click();
    await page.waitForURL(/\/sandbox\/link\?token=/);
    await byTestId(page, 'institution').first().waitFor();
    await byTestId(page, 'sandbox-cancel').click();

    await byTestId(page, 'link-notice').waitFor({ state: 'visible' });
    expect(await byTestId(page, 'link-notice').textContent()).toBe(
      'Linking was cancelled. No bank was linked.',
    );
    expect(await byTestId(page, 'link-result').isVisible()).toBe(false);
    expect(await byTestId(page, 'funding-source').count()).toBe(0);
    expect(await storedSources(userId)).toEqual([]);
    expect(failedResponses).toEqual([]);
  });

  it('links a second bank: two items, each with its own accounts, newest first', async () => {
    const userId = uniqueUserId('demo');
    await openAs(userId);
    await linkBank('First Platypus Bank');
    await linkBank('First Gingham Credit Union');

    expect(await texts('linked-account')).toEqual([
      'First Gingham Credit Union · Plaid Checking ••••0000 · checking',
    ]);
    const items = byTestId(page, 'linked-item');
    expect(await items.count()).toBe(2);
    expect(await items.locator('h3').allTextContents()).toEqual([
      'First Gingham Credit Union',
      'First Platypus Bank',
    ]);
    expect(await byTestId(page, 'funding-source').count()).toBe(3);

    const stored = await storedSources(userId);
    expect(new Set(stored.map((source) => source.itemId)).size).toBe(2);
    expect(stored).toHaveLength(3);
    expect(failedResponses).toEqual([]);
  });

  it('breaks a linked bank in the sandbox, refreshes from Bluum, and shows error with a link-again hint', async () => {
    const userId = uniqueUserId('demo');
    await openAs(userId);
    await linkBank('First Gingham Credit Union');
    await linkBank('Houndstooth Bank');
    const gingham = byTestId(page, 'linked-item').filter({ hasText: 'First Gingham Credit Union' });
    const houndstooth = byTestId(page, 'linked-item').filter({ hasText: 'Houndstooth Bank' });
    expect(await gingham.getByTestId('funding-source-status').allTextContents()).toEqual(['active']);

    // Only Bluum's side breaks: the page still shows what the service stored.
    await gingham.getByTestId('sandbox-break-item').click();
    await byTestId(page, 'sandbox-notice').waitFor({ state: 'visible' });
    expect(await byTestId(page, 'sandbox-notice').textContent()).toContain(
      'Bluum now lists First Gingham Credit Union as ERROR',
    );
    expect(await gingham.getByTestId('funding-source-status').allTextContents()).toEqual(['active']);
    expect((await storedSources(userId)).map((source) => source.status)).toEqual(['active', 'active']);

    await byTestId(page, 'refresh-from-bluum').click();
    await waitForText('sandbox-notice', 'Refreshed from Bluum: 1 bank account(s) changed, 0 added.');
    expect(await gingham.getByTestId('funding-source-status').allTextContents()).toEqual(['error']);
    expect(await houndstooth.getByTestId('funding-source-status').allTextContents()).toEqual(['active']);
    const hints = byTestId(page, 'link-again-hint');
    expect(await hints.count()).toBe(1);
    expect(await gingham.getByTestId('link-again-hint').textContent()).toContain('Link the bank again');
    expect(await houndstooth.getByTestId('link-again-hint').count()).toBe(0);

    const stored = await storedSources(userId);
    expect(Object.fromEntries(stored.map((source) => [source.institutionName, source.status]))).toEqual({
      'First Gingham Credit Union': 'error',
      'Houndstooth Bank': 'active',
    });
    expect(failedResponses).toEqual([]);

    await screenshot(SCREENSHOT_ERROR);
  });
});
