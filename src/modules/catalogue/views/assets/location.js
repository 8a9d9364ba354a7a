// Progressive enhancement: offers "Use my current location" and fills the hidden latitude and
// longitude inputs. Without JavaScript, or if the person declines, the street name is enough.
const pin = document.querySelector('[data-location-pin]');
const lat = document.querySelector('[data-location-lat]');
const lng = document.querySelector('[data-location-lng]');
if (pin && lat && lng && 'geolocation' in navigator) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'govuk-button govuk-button--secondary';
  button.textContent = 'Use my current location';
  const status = document.createElement('p');
  status.className = 'govuk-body';
  status.setAttribute('aria-live', 'polite');
  button.addEventListener('click', () => {
    status.textContent = 'Finding your location…';
    navigator.geolocation.getCurrentPosition(
      (position) => {
        lat.value = position.coords.latitude.toFixed(6);
        lng.value = position.coords.longitude.toFixed(6);
        status.textContent = 'We will use your current location. You can still type the street name.';
      },
      () => {
        status.textContent = 'We could not find your location. Type the street name instead.';
      },
      { enableHighAccuracy: true, timeout: 10000 },
    );
  });
  pin.append(button, status);
  pin.hidden = false;
}
