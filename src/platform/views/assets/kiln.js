// Progressive enhancement only: every journey works without this file.
import { initAll } from './govuk-frontend.min.js';

initAll();

// GOV.UK Frontend marks a radio or checkbox that reveals a follow-up question with aria-expanded,
// which ARIA 1.2 does not allow on those roles (axe: aria-allowed-attr). The reveal stays; the
// attribute goes, now and whenever the components set it again: on every change, and on pageshow
// (these listeners are added after the components' own, so they run after them).
const dropExpanded = () => {
  for (const input of document.querySelectorAll('input[aria-expanded]')) {
    if (input.type === 'radio' || input.type === 'checkbox') input.removeAttribute('aria-expanded');
  }
};
dropExpanded();
document.addEventListener('click', dropExpanded);
document.addEventListener('change', dropExpanded);
window.addEventListener('pageshow', dropExpanded);
