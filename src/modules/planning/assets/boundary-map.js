// The site boundary page: select corners on the map to draw the red line; the polygon's GeoJSON
// goes in the hidden field. Without JavaScript the page asks for a location plan instead.
import { L, createMap } from '/report-assets/map-common.js';

const box = document.querySelector('[data-boundary-map]');
if (box) {
  const input = box.querySelector('[data-boundary-input]');
  const status = box.querySelector('[data-boundary-status]');
  const centre = [Number(box.dataset.lat), Number(box.dataset.lng)];
  const map = createMap(box, 'boundary-map', centre, 18);
  const shape = L.polygon([], { color: '#d4351c', weight: 3 }).addTo(map);
  let corners = [];

  const save = (words) => {
    shape.setLatLngs(corners);
    if (corners.length >= 3) {
      const ring = corners.map((p) => [Number(p.lng.toFixed(7)), Number(p.lat.toFixed(7))]);
      ring.push(ring[0]);
      input.value = JSON.stringify({
        type: 'Feature',
        geometry: { type: 'Polygon', coordinates: [ring] },
        properties: null,
      });
    } else input.value = '';
    status.textContent =
      words ??
      `${corners.length} corner${corners.length === 1 ? '' : 's'} marked.${corners.length < 3 ? ' Mark at least 3.' : ' Select Save and continue when the outline is right.'}`;
  };
  const load = (text) => {
    try {
      const ring = JSON.parse(text).geometry.coordinates[0];
      corners = ring.slice(0, -1).map(([lng, lat]) => L.latLng(lat, lng));
      save();
      if (corners.length) map.fitBounds(shape.getBounds(), { maxZoom: 19, padding: [20, 20] });
    } catch {
      corners = [];
    }
  };
  if (input.value) load(input.value);
  map.on('click', (event) => {
    corners.push(event.latlng);
    save();
  });
  box.querySelector('[data-boundary-reset]').addEventListener('click', () => {
    corners = [];
    save('Outline cleared. Select the first corner of the site.');
  });
  box.querySelector('[data-boundary-square]').addEventListener('click', () => {
    if (box.dataset.start) load(box.dataset.start);
  });
  const heading = document.querySelector('[data-plan-heading]');
  if (heading) heading.textContent = 'Or upload a location plan';
}
