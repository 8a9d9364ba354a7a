// An application's page: the site boundary drawn in red over the map.
import { L, createMap } from '/report-assets/map-common.js';

const box = document.querySelector('[data-site-map]');
if (box) {
  const feature = JSON.parse(box.dataset.boundary);
  const layer = L.geoJSON(feature, { style: { color: '#d4351c', weight: 3 } });
  const map = createMap(box, 'site-map', [52.95, -2.15], 17);
  layer.addTo(map);
  map.fitBounds(layer.getBounds(), { maxZoom: 19, padding: [20, 20] });
}
