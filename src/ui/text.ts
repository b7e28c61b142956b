// Text measurement without a browser: SVG drawn in Node cannot ask a font how wide a string is, so
// widths are estimated from Arial/Liberation Sans metrics (the first sans-serif faces of the page's
// font stack) with a margin for wider fallbacks (DejaVu Sans is ~8% wider). Good enough to size a
// box so its label fits; `fit` cuts a string to a width with an ellipsis.

const NARROW = new Set([...`iljI.,:;'|!`]);
const SEMI = new Set([...`frt-()[]{}/\\" `]);
const WIDE = new Set([...`mwMW@%`]);

function charEm(c: string): number {
  if (NARROW.has(c)) return 0.25;
  if (SEMI.has(c)) return 0.34;
  if (WIDE.has(c)) return 0.86;
  if (c >= 'A' && c <= 'Z') return 0.68;
  if (c >= '0' && c <= '9') return 0.56;
  return 0.54;
}

/** Estimated width in px of `text` at `px` size; `mono` for monospace, `bold` for weight 600+. */
export function textWidth(text: string, px: number, o: { bold?: boolean; mono?: boolean } = {}): number {
  if (o.mono) return text.length * px * 0.61;
  let em = 0;
  for (const c of text) em += charEm(c);
  return em * px * (o.bold ? 1.08 : 1) * 1.06;
}

/** `text` cut (with `…`) so that it fits in `width` px. */
export function fit(text: string, width: number, px: number, o: { bold?: boolean; mono?: boolean } = {}): string {
  if (textWidth(text, px, o) <= width) return text;
  let s = text;
  while (s.length > 1 && textWidth(s + '…', px, o) > width) s = s.slice(0, -1);
  return s + '…';
}
