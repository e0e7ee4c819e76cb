// The sandbox's hosted link: pick a bank, log in (user_good / pass_good), go back to the completion URI.
'use strict';
(() => {
  const linkToken = new URLSearchParams(location.search).get('token') || '';
  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
  let institution = null;

  async function post(path, body) {
    const response = await fetch(`/sandbox/link/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ link_token: linkToken, ...body }),
    });
    const payload = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(payload.error_message || `HTTP ${response.status}`);
    return payload;
  }

  function step(name) {
    for (const section of document.querySelectorAll('[data-step]'))
      section.hidden = section.dataset.step !== name;
  }

  function showError(message) {
    const element = byTestId('sandbox-error');
    element.textContent = message;
    element.hidden = !message;
  }

  function leave(redirectTo) {
    if (redirectTo) location.assign(redirectTo);
    else step('done');
  }

  function pick(choice) {
    institution = choice;
    showError('');
    byTestId('credentials-title').textContent = `Log in to ${choice.name}`;
    byTestId('credentials-form').reset();
    step('credentials');
    byTestId('sandbox-username').focus();
  }

  async function start() {
    const { institutions } = await post('session', {});
    byTestId('institutions').replaceChildren(
      ...institutions.map((choice) => {
        const item = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.testid = 'institution';
        button.textContent = choice.name;
        button.addEventListener('click', () => pick(choice));
        item.append(button);
        return item;
      }),
    );
    step('institutions');
  }

  byTestId('credentials-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const submit = byTestId('sandbox-submit');
    submit.disabled = true;
    post('complete', {
      institution_id: institution.institution_id,
      username: byTestId('sandbox-username').value,
      password: byTestId('sandbox-password').value,
    })
      .then((result) => {
        byTestId('sandbox-done-text').textContent =
          `Your ${institution.name} account is linked. You can close this window.`;
        leave(result.redirect_to);
      })
      .catch((error) => {
        showError(error.message);
        byTestId('sandbox-password').value = '';
        byTestId('sandbox-password').focus();
      })
      .finally(() => {
        submit.disabled = false;
      });
  });

  byTestId('sandbox-back').addEventListener('click', () => {
    showError('');
    step('institutions');
  });

  byTestId('sandbox-cancel').addEventListener('click', () => {
    post('exit', {})
      .then((result) => {
        byTestId('sandbox-done').textContent = 'Cancelled';
        byTestId('sandbox-done-text').textContent = 'No account was linked. You can close this window.';
        leave(result.redirect_to);
      })
      .catch((error) => showError(error.message));
  });

  start().catch((error) => showError(error.message));
})();
