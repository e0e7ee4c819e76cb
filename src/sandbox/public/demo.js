// The demo page: what a frontend of this service does, in plain browser JavaScript. It asks the service
// for a link token, sends the browser to the hosted link, and exchanges the public token it comes back with.
'use strict';
(() => {
  const USER_KEY = 'bluumDemo.userId';
  const SESSION_KEY = 'bluumDemo.session';
  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

  class ApiError extends Error {
    constructor(status, body) {
      const requestId = body && body.requestId ? ` (request ${body.requestId})` : '';
      super(`${(body && body.message) || `HTTP ${status}`}${requestId}`);
      this.status = status;
    }
  }

  async function call(method, path, { token, body, headers = {} } = {}) {
    const init = { method, headers: { accept: 'application/json', ...headers } };
    if (token) init.headers.authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  function readSession() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    } catch {
      return null;
    }
  }

  // Your app gets the user's bearer token from its identity provider; the demo asks the sandbox for one.
  async function session(userId) {
    const saved = readSession();
    if (saved && (!userId || saved.userId === userId) && saved.expiresAt > Date.now() + 60_000) return saved;
    const issued = await call('POST', '/sandbox/demo-users', { body: userId ? { userId } : {} });
    const fresh = {
      userId: issued.userId,
      accessToken: issued.accessToken,
      expiresAt: Date.now() + issued.expiresIn * 1000,
    };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(fresh));
    localStorage.setItem(USER_KEY, fresh.userId);
    return fresh;
  }

  const fundingSourcesPath = (s) => `/v1/users/${encodeURIComponent(s.userId)}/funding-sources`;

  function show(testId, text) {
    const element = byTestId(testId);
    if (text !== undefined) element.textContent = text;
    element.hidden = false;
  }

  function clearMessages() {
    for (const id of ['link-result', 'linked-accounts', 'link-notice', 'error']) byTestId(id).hidden = true;
  }

  function accountLine(source, withInstitution) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = withInstitution
      ? `${source.institutionName} · ${source.accountName}`
      : source.accountName;
    const mask = document.createElement('span');
    mask.className = 'mask';
    mask.textContent = source.mask ? ` ••••${source.mask}` : '';
    const kind = document.createElement('span');
    kind.className = 'muted';
    kind.textContent = source.accountSubtype ? ` · ${source.accountSubtype}` : '';
    li.append(name, mask, kind);
    return li;
  }

  // One card per linked bank (Plaid item), its accounts inside, newest first as the API lists them.
  async function renderFundingSources(s) {
    const { data } = await call('GET', fundingSourcesPath(s), { token: s.accessToken });
    const items = new Map();
    for (const source of data) {
      if (!items.has(source.itemId)) items.set(source.itemId, { name: source.institutionName, sources: [] });
      items.get(source.itemId).sources.push(source);
    }
    const cards = [...items.values()].map(({ name, sources }) => {
      const card = document.createElement('article');
      card.className = 'item';
      card.dataset.testid = 'linked-item';
      const title = document.createElement('h3');
      title.textContent = name;
      const list = document.createElement('ul');
      list.className = 'accounts';
      // Accounts linked together share a timestamp; sort them by name so the card reads the same every time.
      const byName = [...sources].sort((a, b) => a.accountName.localeCompare(b.accountName));
      for (const source of byName) {
        const line = accountLine(source, false);
        line.dataset.testid = 'funding-source';
        list.append(line);
      }
      card.append(title, list);
      return card;
    });
    byTestId('funding-sources').replaceChildren(...cards);
    byTestId('no-funding-sources').hidden = cards.length > 0;
  }

  function randomKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // The hosted link sends the browser back with its outcome in the URL fragment.
  async function finishLink(s, outcome) {
    if (outcome.get('status') === 'exited') {
      show('link-notice', 'Linking was cancelled. No bank was linked.');
      return;
    }
    const publicToken = outcome.get('public_token');
    if (outcome.get('status') !== 'success' || !publicToken) return;
    const result = await call('POST', `${fundingSourcesPath(s)}/plaid/connect`, {
      token: s.accessToken,
      body: { publicToken },
      headers: { 'idempotency-key': randomKey() },
    });
    show('link-result', 'Bank linked!');
    byTestId('linked-accounts').replaceChildren(
      ...result.fundingSources.map((source) => {
        const line = accountLine(source, true);
        line.dataset.testid = 'linked-account';
        return line;
      }),
    );
    show('linked-accounts');
  }

  async function linkBank(s) {
    const { hostedLinkUrl } = await call('POST', `${fundingSourcesPath(s)}/plaid/link-token`, {
      token: s.accessToken,
      body: { enableHostedLink: true, completionRedirectUri: `${location.origin}/` },
    });
    location.assign(hostedLinkUrl);
  }

  function reportError(error) {
    show('error', error instanceof Error ? error.message : String(error));
  }

  // The user the page acts for; only the latest switch counts, however the requests interleave.
  let current = null;
  let switches = 0;
  // What a person typed in the user field is theirs: the page fills it only while nobody has typed.
  let typed = false;

  async function useUser(userId) {
    const ticket = ++switches;
    current = null;
    byTestId('link-bank').disabled = true;
    const s = await session(userId);
    if (ticket !== switches) return null;
    current = s;
    byTestId('current-user').textContent = s.userId;
    if (!typed) byTestId('demo-user-id').value = s.userId;
    byTestId('link-bank').disabled = false;
    await renderFundingSources(s);
    return s;
  }

  // Listeners first (the script is deferred, so the elements exist): nothing a person does is lost.
  byTestId('link-bank').addEventListener('click', () => {
    if (!current) return;
    clearMessages();
    byTestId('link-bank').disabled = true;
    linkBank(current).catch((error) => {
      byTestId('link-bank').disabled = false;
      reportError(error);
    });
  });
  byTestId('demo-user-id').addEventListener('input', () => {
    typed = true;
  });
  byTestId('user-form').addEventListener('submit', (event) => {
    event.preventDefault();
    typed = false;
    clearMessages();
    sessionStorage.removeItem(SESSION_KEY);
    const wanted = byTestId('demo-user-id').value.trim();
    useUser(wanted || undefined).catch(reportError);
  });

  async function start() {
    const outcome = new URLSearchParams(location.hash.slice(1));
    // Read once, then out of the address bar: a reload must not replay it, and a bookmark must not keep it.
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    const s = await useUser(localStorage.getItem(USER_KEY) || undefined);
    if (!s) return;
    await finishLink(s, outcome);
    await renderFundingSources(s);
  }

  start().catch(reportError);
})();
