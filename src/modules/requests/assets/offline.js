// The app's one-page form: kept on the phone when there is no connection, sent when it returns.
import { queue, pending, sendPending, sentReports } from '/report-assets/outbox.js';

const form = document.querySelector('[data-app-form]');
const status = document.querySelector('[data-app-status]');

function say(html) {
  status.innerHTML = html;
  status.querySelector('h2')?.focus();
}
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

if (form) {
  document.querySelector('[data-app-needs-script]').hidden = true;
  form.hidden = false;
  const category = form.querySelector('#category');
  const showQuestions = () => {
    for (const group of form.querySelectorAll('[data-category-questions]')) {
      const on = group.dataset.categoryQuestions === category.value;
      group.hidden = !on;
      for (const input of group.querySelectorAll('input, select, textarea')) input.disabled = !on;
    }
  };
  category.addEventListener('change', showQuestions);
  showQuestions();

  const where = form.querySelector('[data-location-status]');
  form.querySelector('[data-use-my-location]').addEventListener('click', () => {
    where.textContent = 'Finding your location…';
    navigator.geolocation.getCurrentPosition(
      (p) => {
        form.querySelector('[data-lat]').value = p.coords.latitude.toFixed(6);
        form.querySelector('[data-lng]').value = p.coords.longitude.toFixed(6);
        where.textContent = 'Your location will be used.';
      },
      () => {
        where.textContent = 'We could not find your location. Choose the street instead.';
      },
      { enableHighAccuracy: true, timeout: 10000 },
    );
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const photo = data.get('photo');
    data.delete('photo');
    const key = crypto.randomUUID();
    const summary = `${category.options[category.selectedIndex].text}, ${form.querySelector('#usrn').selectedOptions[0]?.text || 'your location'}`;
    await queue({
      key,
      fields: [...data.entries()],
      photo: photo && photo.size ? photo : null,
      photoName: photo?.name,
      summary,
      savedAt: new Date().toISOString(),
    });
    if (!navigator.onLine) {
      say(
        '<h2 class="govuk-heading-m" tabindex="-1">Report saved on this phone</h2><p class="govuk-body">There is no connection now. We will send it as soon as you are back online.</p>',
      );
      form.reset();
      showQuestions();
      return;
    }
    await sendPending();
    const still = (await pending()).find((r) => r.key === key);
    if (still?.failed)
      say(
        `<h2 class="govuk-heading-m" tabindex="-1">There is a problem</h2><p class="govuk-body">${escape(still.failed)}</p>`,
      );
    else if (still)
      say(
        '<h2 class="govuk-heading-m" tabindex="-1">Report saved on this phone</h2><p class="govuk-body">We will send it when the connection returns.</p>',
      );
    else {
      const mine = await sentReports();
      const latest = mine.sort((a, b) => b.sentAt.localeCompare(a.sentAt))[0];
      say(
        `<h2 class="govuk-heading-m" tabindex="-1">Report sent</h2><p class="govuk-body">Your reference is <strong>${escape(latest.reference)}</strong>. ${escape(latest.notice)}</p>`,
      );
      form.reset();
      showQuestions();
    }
  });
}

const list = document.querySelector('[data-mine-list]');
async function showMine() {
  if (!list) return;
  const [sent, waiting] = await Promise.all([sentReports(), pending()]);
  list.innerHTML = '';
  for (const r of waiting)
    list.insertAdjacentHTML(
      'beforeend',
      `<li>${escape(r.summary)}: ${r.failed ? `not sent: ${escape(r.failed)}` : 'waiting to be sent'}</li>`,
    );
  for (const r of sent.sort((a, b) => b.sentAt.localeCompare(a.sentAt)))
    list.insertAdjacentHTML(
      'beforeend',
      `<li><a class="govuk-link" href="/reports/${escape(r.reference)}">${escape(r.reference)}</a>: ${escape(r.summary)}</li>`,
    );
  document.querySelector('[data-mine-empty]').hidden = sent.length + waiting.length > 0;
}
showMine();
window.addEventListener('online', () => setTimeout(showMine, 1500));
