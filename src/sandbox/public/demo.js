// The demo page: what a frontend of this service does, in plain browser JavaScript. It asks the service
// for a link token, sends the browser to the hosted link, and exchanges the public token it comes back with.
// Its sandbox controls change what the sandbox's Bluum lists for an item, so a person can watch the service
// notice (Refresh from Bluum is the sync route; reconciliation does the same on its own).
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
    for (const id of ['link-result', 'linked-accounts', 'link-notice', 'error', 'sandbox-notice']) {
      byTestId(id).hidden = true;
    }
  }

  function accountLine(source, withInstitution, withStatus = false) {
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
    if (withStatus) {
      const status = document.createElement('span');
      status.className = `status status-${source.status}`;
      status.dataset.testid = 'funding-source-status';
      status.textContent = source.status;
      li.append(' ', status);
    }
    return li;
  }

  // What the sandbox's Bluum can be told about an item: [Bluum's status, button, data-testid, what it plays].
  const SANDBOX_ACTIONS = [
    ['ERROR', 'Break', 'sandbox-break-item', 'the user changed the bank password'],
    ['DISCONNECTED', 'Revoke', 'sandbox-revoke-item', 'Bluum or the user revoked the access'],
    ['ACTIVE', 'Mend', 'sandbox-mend-item', 'the bank works again'],
  ];

  function sandboxControls(itemId, institutionName) {
    const controls = document.createElement('div');
    controls.className = 'controls';
    for (const [status, label, testId, meaning] of SANDBOX_ACTIONS) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary small';
      button.textContent = label;
      button.title = `Sandbox: Bluum lists this item as ${status}, as when ${meaning}`;
      button.dataset.testid = testId;
      button.dataset.itemId = itemId;
      button.dataset.status = status;
      button.dataset.institution = institutionName;
      controls.append(button);
    }
    return controls;
  }

  // Every status, disconnected included: a bank Bluum revoked stays on the page, marked so.
  async function renderFundingSources(s) {
    const { data } = await call('GET', `${fundingSourcesPath(s)}?status=all`, { token: s.accessToken });
    renderSources(data);
  }

  // One card per linked bank (Plaid item), its accounts inside, newest first as the API lists them.
  function renderSources(data) {
    const items = new Map();
    for (const source of data) {
      if (!items.has(source.itemId)) items.set(source.itemId, { name: source.institutionName, sources: [] });
      items.get(source.itemId).sources.push(source);
    }
    const cards = [...items].map(([itemId, { name, sources }]) => {
      const card = document.createElement('article');
      card.className = 'item';
      card.dataset.testid = 'linked-item';
      const head = document.createElement('div');
      head.className = 'bar';
      const title = document.createElement('h3');
      title.textContent = name;
      head.append(title, sandboxControls(itemId, name));
      const list = document.createElement('ul');
      list.className = 'accounts';
      // Accounts linked together share a timestamp; sort them by name so the card reads the same every time.
      const byName = [...sources].sort((a, b) => a.accountName.localeCompare(b.accountName));
      for (const source of byName) {
        const line = accountLine(source, false, true);
        line.dataset.testid = 'funding-source';
        list.append(line);
      }
      card.append(head, list);
      // Bluum's ERROR: Plaid needs the user back (a new password, a new consent), and only a new link does it.
      if (sources.some((source) => source.status === 'error')) {
        const hint = document.createElement('p');
        hint.className = 'notice';
        hint.dataset.testid = 'link-again-hint';
        hint.textContent = `${name} no longer accepts this connection (the password may have changed). Link the bank again: Link bank, then ${name}.`;
        card.append(hint);
      }
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

  // Only Bluum's side changes: the stored status stays until the service hears from Bluum.
  async function setSandboxStatus(s, { itemId, status, institution }) {
    await call(
      'POST',
      `/sandbox/users/${encodeURIComponent(s.userId)}/items/${encodeURIComponent(itemId)}/status`,
      {
        token: s.accessToken,
        body: { status },
      },
    );
    if (s !== current) return;
    show(
      'sandbox-notice',
      `Bluum now lists ${institution} as ${status}. The service shows it once it hears from Bluum: Refresh from Bluum, or wait for reconciliation.`,
    );
  }

  // The sync route: the service asks Bluum's list and takes its statuses.
  async function refreshFromBluum(s) {
    const result = await call('POST', `${fundingSourcesPath(s)}/sync`, { token: s.accessToken });
    if (s !== current) return;
    renderSources(result.data);
    show(
      'sandbox-notice',
      `Refreshed from Bluum: ${result.updated} bank account(s) changed, ${result.added} added.`,
    );
  }

  function reportError(error) {
    show('error', error instanceof Error ? error.message : String(error));
  }

  // The user the page acts for; only the latest switch counts, however the requests interleave.
  let current = null;
  let switches = 0;
  // What a person typed in the user field is theirs: the page fills it only while nobody has typed and
  // nobody is in it (a value set between a select-all and the typed text would be typed onto).
  let typed = false;

  async function useUser(userId) {
    const ticket = ++switches;
    current = null;
    byTestId('link-bank').disabled = true;
    byTestId('refresh-from-bluum').disabled = true;
    const s = await session(userId);
    if (ticket !== switches) return null;
    current = s;
    byTestId('current-user').textContent = s.userId;
    const field = byTestId('demo-user-id');
    if (!typed && document.activeElement !== field) field.value = s.userId;
    byTestId('link-bank').disabled = false;
    byTestId('refresh-from-bluum').disabled = false;
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
  byTestId('refresh-from-bluum').addEventListener('click', () => {
    if (!current) return;
    clearMessages();
    const button = byTestId('refresh-from-bluum');
    button.disabled = true;
    refreshFromBluum(current)
      .catch(reportError)
      .finally(() => {
        button.disabled = current === null;
      });
  });
  // The cards are drawn again on every refresh, so their buttons are listened to here, once.
  byTestId('funding-sources').addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-status]') : null;
    if (!button || !current) return;
    clearMessages();
    setSandboxStatus(current, button.dataset).catch(reportError);
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
