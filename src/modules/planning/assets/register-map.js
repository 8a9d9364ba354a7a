// The register's results on a map: one pin for each application listed, linked to its page.
import { L, createMap } from '/report-assets/map-common.js';

const box = document.querySelector('[data-register-map]');
if (box) {
  const pins = JSON.parse(box.dataset.pins || '[]');
  if (pins.length) {
    const map = createMap(box, 'register-map', [pins[0].lat, pins[0].lng], 15);
    const bounds = [];
    for (const pin of pins) {
      const marker = L.marker([pin.lat, pin.lng], { title: pin.address, alt: pin.address }).addTo(map);
      const link = document.createElement('a');
      link.href = `/planning/applications/${encodeURIComponent(pin.reference)}`;
      link.className = 'govuk-link';
      link.textContent = `${pin.reference}: ${pin.address}`;
      marker.bindPopup(link);
      bounds.push([pin.lat, pin.lng]);
    }
    map.fitBounds(bounds, { maxZoom: 17, padding: [30, 30] });
  }
}
