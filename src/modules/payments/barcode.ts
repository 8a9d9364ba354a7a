import bwipjs from 'bwip-js';

/** A Code 128 barcode as SVG, drawn on the server so the printed card needs no JavaScript. */
export function code128Svg(text: string): string {
  const svg = bwipjs.toSVG({
    bcid: 'code128',
    text,
    height: 14,
    scale: 2,
    includetext: false,
    paddingwidth: 10,
  });
  // A label for assistive technology; the digits are printed beside it for people.
  return svg.replace('<svg ', `<svg role="img" aria-label="Barcode for payment reference ${text}" `);
}
