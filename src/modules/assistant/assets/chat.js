// The web chat, enhanced: messages are sent and shown without reloading the page, and an
// adviser's replies appear by themselves. Without this script the page works as plain forms.
const root = document.querySelector('[data-kiln-chat]');
if (root) {
  const list = root.querySelector('[data-kiln-chat-messages]');
  const live = root.querySelector('[data-kiln-chat-live]');
  const waiting = root.querySelector('[data-kiln-chat-waiting]');
  const form = root.querySelector('[data-kiln-chat-form]');
  const input = form.querySelector('input[name="message"]');
  const token = form.querySelector('input[name="_csrf"]').value;
  let after = Number(root.dataset.after || 0);
  let status = root.dataset.status;
  let polling = null;
  let choices = root.querySelector('[data-kiln-chat-choices]');

  const who = { resident: 'You', bot: 'Assistant', agent: 'Adviser', system: 'Update' };

  function show(message) {
    if (message.id <= after) return;
    after = message.id;
    const item = document.createElement('li');
    item.className = `kiln-chat__message kiln-chat__message--${message.author}`;
    const name = document.createElement('p');
    name.className = 'govuk-body-s govuk-!-margin-bottom-1 kiln-chat__who';
    name.textContent = who[message.author] || '';
    const body = document.createElement('p');
    body.className = 'govuk-body govuk-!-margin-bottom-0 kiln-chat__body';
    body.textContent = message.body;
    item.append(name, body);
    if (message.link && /^(\/|https?:)/.test(message.link.href)) {
      const p = document.createElement('p');
      p.className = 'govuk-body govuk-!-margin-top-2 govuk-!-margin-bottom-0';
      const a = document.createElement('a');
      a.className = 'govuk-link';
      a.href = message.link.href;
      a.textContent = message.link.text;
      p.append(a);
      item.append(p);
    }
    list.append(item);
    if (message.author !== 'resident') live.textContent = `${name.textContent}: ${message.body}`;
    item.scrollIntoView({ block: 'nearest' });
  }

  function showChoices(options) {
    if (choices) choices.remove();
    choices = null;
    if (!options || options.length === 0) return;
    choices = document.createElement('div');
    choices.className = 'govuk-button-group';
    choices.setAttribute('role', 'group');
    choices.setAttribute('aria-label', 'Choose an answer');
    for (const option of options) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'govuk-button govuk-button--secondary';
      button.textContent = option;
      button.addEventListener('click', () => send(option, true));
      choices.append(button);
    }
    form.before(choices);
  }

  function setStatus(next) {
    status = next;
    if (waiting) waiting.hidden = !(status === 'waiting' || status === 'agent');
    if ((status === 'waiting' || status === 'agent') && !polling) polling = setInterval(poll, 3000);
    if (!(status === 'waiting' || status === 'agent') && polling) {
      clearInterval(polling);
      polling = null;
    }
  }

  async function poll() {
    try {
      const response = await fetch(`/assistant/messages?after=${after}`, {
        headers: { accept: 'application/json' },
      });
      if (!response.ok) return;
      const data = await response.json();
      data.messages.forEach(show);
      setStatus(data.status);
    } catch {
      // The next poll tries again.
    }
  }

  async function send(text, isChoice) {
    const body = new URLSearchParams({ _csrf: token, [isChoice ? 'choice' : 'message']: text });
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const response = await fetch('/assistant', {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const data = await response.json();
      if (!response.ok) {
        live.textContent = data.error || 'Sorry, that did not send. Try again.';
        return false;
      }
      data.messages.forEach(show);
      const last = data.messages[data.messages.length - 1];
      showChoices(last && last.author === 'bot' ? last.options : []);
      setStatus(data.status);
      return true;
    } catch {
      live.textContent = 'Sorry, that did not send. Check your connection and try again.';
      return false;
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener('submit', async (event) => {
    const text = input.value.trim();
    if (!text) return; // the server shows the error summary
    event.preventDefault();
    if (await send(text, false)) input.value = '';
    input.focus();
  });
  if (choices) {
    choices.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = event.submitter && event.submitter.value;
      if (value) send(value, true);
    });
  }
  setStatus(status);
}
