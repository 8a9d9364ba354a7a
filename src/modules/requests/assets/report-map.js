// The /report location page: a movable pin and "use my location", filling the hidden lat/lng fields.
import { L, createMap } from '/report-assets/map-common.js';

const box = document.querySelector('[data-report-map]');
if (box) {
  const lat = document.querySelector('[data-lat]');
  const lng = document.querySelector('[data-lng]');
  const street = document.querySelector('#street');
  const status = box.querySelector('[data-map-status]');
  const centre = [52.95, -2.15];
  const map = createMap(box, 'report-map', centre, 15);
  const marker = L.marker(centre, { draggable: true, keyboard: true, title: 'Where the problem is' }).addTo(
    map,
  );

  const place = (point, words) => {
    marker.setLatLng(point);
    lat.value = point.lat.toFixed(6);
    lng.value = point.lng.toFixed(6);
    status.textContent = words;
  };
  marker.on('dragend', () => place(marker.getLatLng(), 'Pin moved. Select Continue to use this place.'));
  map.on('click', (event) => place(event.latlng, 'Pin placed. Select Continue to use this place.'));
  // Typing a street means the person chose the street, not the pin.
  street?.addEventListener('input', () => {
    lat.value = '';
    lng.value = '';
  });

  const button = box.querySelector('[data-use-my-location]');
  if (!('geolocation' in navigator)) button.hidden = true;
  button.addEventListener('click', () => {
    status.textContent = 'Finding your location…';
    navigator.geolocation.getCurrentPosition(
      (position) => {
        const point = L.latLng(position.coords.latitude, position.coords.longitude);
        map.setView(point, 17);
        place(
          point,
          'Pin placed at your location. Drag it if the problem is elsewhere, then select Continue.',
        );
      },
      () => {
        status.textContent = 'We could not find your location. Drag the pin, or search for the street.';
      },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });
}
