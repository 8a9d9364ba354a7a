// Passkeys need the browser's WebAuthn API, so this script shows the passkey forms only where it
// exists; without it the pages offer the email link instead. The script only fills in the hidden
// "response" field: the form is still posted, checked and answered by the server.
const webauthn = window.SimpleWebAuthnBrowser;

if (webauthn && webauthn.browserSupportsWebAuthn()) {
  for (const fallback of document.querySelectorAll('[data-passkey-fallback]')) fallback.hidden = true;
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      if (form.dataset.submitting) return;
      event.preventDefault();
      form.dataset.submitting = 'true';
      const field = form.querySelector('input[name="response"]');
      try {
        const options = await fetch(form.dataset.optionsUrl, {
          method: 'POST',
          credentials: 'same-origin',
          body: new URLSearchParams({ _csrf: form.querySelector('input[name="_csrf"]').value }),
        });
        const optionsJSON = await options.json();
        const response =
          form.dataset.passkey === 'register'
            ? await webauthn.startRegistration({ optionsJSON })
            : await webauthn.startAuthentication({ optionsJSON });
        field.value = JSON.stringify(response);
      } catch {
        // Cancelled or refused by the device: the server answers with an error the person can act on.
        field.value = '';
      }
      form.submit();
    });
  }
}
