// Small helpers the Packer commands share (validate, validate-hcl, inspect, build): flag lists, file
// kinds, source excerpts.
import { statSync } from 'node:fs';

/** Splits repeated, comma-separated `-only`/`-except` values. */
export function splitNames(values: string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

export function fsFileExists(p: string): 'file' | 'dir' | undefined {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** The source line of a position with a caret under the column (shown on terminals). */
export function excerpt(text: string, line: number, col: number): string {
  const src = text.split('\n')[line - 1];
  if (src === undefined) return '';
  const n = String(line);
  return `${n.padStart(6)} | ${src}\n${' '.repeat(6)} | ${' '.repeat(Math.max(0, col - 1))}^\n`;
}
