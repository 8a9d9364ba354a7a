// Reports kept on the phone: an outbox of reports not yet sent, and the list of reports sent.
const DB = 'kiln-report-it';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore('outbox', { keyPath: 'key' });
      request.result.createObjectStore('mine', { keyPath: 'reference' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(store, mode, action) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const result = action(tx.objectStore(store));
    tx.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
  });
}

export const queue = (report) => run('outbox', 'readwrite', (s) => s.put(report));
export const pending = () => run('outbox', 'readonly', (s) => s.getAll());
export const forget = (key) => run('outbox', 'readwrite', (s) => s.delete(key));
export const remember = (sent) => run('mine', 'readwrite', (s) => s.put(sent));
export const sentReports = () => run('mine', 'readonly', (s) => s.getAll());

let sending = null;
/** Sends every queued report once; each carries its own key, so a repeat after a lost answer is harmless. */
export function sendPending() {
  sending ??= (async () => {
    const sent = [];
    for (const report of await pending()) {
      const body = new FormData();
      for (const [name, value] of report.fields) body.append(name, value);
      if (report.photo) body.append('photo', report.photo, report.photoName || 'photo.jpg');
      let response;
      try {
        response = await fetch('/api/v1/street-reports', {
          method: 'POST',
          body,
          headers: { 'Idempotency-Key': report.key, Accept: 'application/json' },
        });
      } catch {
        break; // still offline: try again when the connection returns
      }
      if (response.ok) {
        const answer = await response.json();
        await remember({
          reference: answer.reference,
          notice: answer.notice,
          summary: report.summary,
          sentAt: new Date().toISOString(),
        });
        await forget(report.key);
        sent.push(answer.reference);
      } else if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        const problem = await response.json().catch(() => ({}));
        await queue({
          ...report,
          failed: problem.errors?.map((e) => e.detail).join('. ') || problem.detail || problem.title,
        });
      } else break;
    }
    return sent;
  })().finally(() => {
    sending = null;
  });
  return sending;
}
