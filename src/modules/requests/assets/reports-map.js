// Maps on the public list, a report's page and the field jobs: markers from the links on the page.
import { L, createMap } from '/report-assets/map-common.js';

const list = document.querySelector('[data-reports-map]');
if (list) {
  const links = [...document.querySelectorAll('[data-report-list] a[data-lat]')];
  if (links.length) {
    const canvas = list.querySelector('.kiln-map__canvas');
    const map = createMap(list, canvas.id, [52.95, -2.15], 14);
    const points = links.map((a) => {
      const point = [Number(a.dataset.lat), Number(a.dataset.lng)];
      L.marker(point, { title: a.textContent.trim() })
        .addTo(map)
        .on('click', () => {
          window.location.href = a.href;
        });
      return point;
    });
    map.fitBounds(points, { maxZoom: 17, padding: [20, 20] });
  }
}

const pin = document.querySelector('[data-report-pin]');
if (pin) {
  const point = [Number(pin.dataset.lat), Number(pin.dataset.lng)];
  const map = createMap(pin, pin.querySelector('.kiln-map__canvas').id, point, 17);
  L.marker(point, { title: 'The problem' }).addTo(map);
}

// Field jobs: sort by distance from where the officer stands.
const locate = document.querySelector('[data-field-locate]');
if (locate && 'geolocation' in navigator) {
  const button = locate.querySelector('[data-use-my-location]');
  button.hidden = false;
  button.addEventListener('click', (event) => {
    event.preventDefault();
    navigator.geolocation.getCurrentPosition(
      (position) => {
        locate.querySelector('[data-lat]').value = position.coords.latitude.toFixed(6);
        locate.querySelector('[data-lng]').value = position.coords.longitude.toFixed(6);
        locate.submit();
      },
      () => {
        button.textContent = 'Location not available';
      },
      { enableHighAccuracy: true, timeout: 10000 },
    );
  });
}
