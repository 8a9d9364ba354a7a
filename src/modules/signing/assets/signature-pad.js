// Drawn signature: an optional enhancement of the typed-name form. Without JavaScript the pad
// stays hidden and typing a name is enough. The drawing is sent as a PNG data URL.
const pad = document.querySelector('[data-signature-pad]');
if (pad) {
  const canvas = pad.querySelector('canvas');
  const field = pad.querySelector('input[name="drawnSignature"]');
  const clear = pad.querySelector('button[data-clear]');
  const context = canvas.getContext('2d');
  // Styles set through the DOM: the content security policy allows no inline style attributes.
  Object.assign(canvas.style, {
    display: 'block',
    width: '100%',
    maxWidth: '30em',
    height: '9em',
    border: '2px solid #0b0c0c',
    touchAction: 'none',
    background: '#fff',
  });
  let drawing = false;
  let drawn = false;
  const scale = () => {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = canvas.clientWidth * ratio;
    canvas.height = canvas.clientHeight * ratio;
    context.scale(ratio, ratio);
    context.lineWidth = 2.5;
    context.lineCap = 'round';
    context.strokeStyle = '#0b0c0c';
  };
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  };
  canvas.addEventListener('pointerdown', (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const { x, y } = point(event);
    context.beginPath();
    context.moveTo(x, y);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drawing) return;
    const { x, y } = point(event);
    context.lineTo(x, y);
    context.stroke();
    drawn = true;
  });
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    if (drawn) field.value = canvas.toDataURL('image/png');
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', finish);
  clear.addEventListener('click', () => {
    context.clearRect(0, 0, canvas.width, canvas.height);
    field.value = '';
    drawn = false;
  });
  pad.hidden = false;
  scale();
}
