// Shared map set-up. Progressive enhancement: every page works without it, and when tiles fail.
import * as L from '/report-assets/leaflet/leaflet-src.esm.js';

L.Icon.Default.imagePath = '/report-assets/leaflet/images/';
export { L };

/** A map in a hidden [data-*-map] box: shows the box, adds tiles, and says so if tiles do not load. */
export function createMap(box, canvasId, centre, zoom) {
  box.hidden = false;
  const map = L.map(canvasId, { scrollWheelZoom: false }).setView(centre, zoom);
  const tiles = L.tileLayer(box.dataset.tileUrl, { attribution: box.dataset.attribution, maxZoom: 19 });
  let failed = 0;
  tiles.on('tileerror', () => {
    failed += 1;
    if (failed === 4) {
      const note = document.createElement('p');
      note.className = 'govuk-body-s';
      note.textContent = 'The map pictures could not load. You can still use the rest of this page.';
      box.append(note);
    }
  });
  tiles.addTo(map);
  return map;
}
