// How secrets are masked in text, the one rule every output path follows.

/** A secret (a NoEcho value, or a string an intrinsic built from one) shorter than this is masked only
 * where it is a whole value, never as a part of a longer text: a one-letter secret would otherwise
 * mangle every text holding that letter. */
export const MIN_DERIVED = 4;

/** Replaces each secret of `sorted` (longest first) in `s` by `by(secret)`, by the MIN_DERIVED rule. */
export function replaceSecrets<T extends { value: string }>(s: string, sorted: readonly T[], by: (x: T) => string): string {
  const whole = sorted.find((x) => x.value === s);
  if (whole) return by(whole);
  let out = s;
  for (const x of sorted) if (x.value.length >= MIN_DERIVED && out.includes(x.value)) out = out.split(x.value).join(by(x));
  return out;
}
