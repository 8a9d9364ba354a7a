// Report it pages: install the service worker and send reports queued while offline.
import { sendPending } from '/report-assets/outbox.js';

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/report-sw.js', { scope: '/' }).catch(() => {});
}
if ('indexedDB' in window) {
  window.addEventListener('online', () => sendPending().catch(() => {}));
  if (navigator.onLine) sendPending().catch(() => {});
}
