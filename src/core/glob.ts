// File name patterns, as `kiln validate 'templates/**/*.yaml'` takes them (the shell's globstar is
// often off, and a quoted pattern reaches kiln as written). Supported: `*` and `?` (not across `/`),
// `[abc]` / `[a-z]` / `[!a]` classes, `{a,b}` alternatives (nested), and `**` as a whole path segment
// for any number of directories, none included. As in the shell, `*`, `?` and classes do not match a
// leading dot; `**` does not descend into dot directories nor follow symbolic links to directories.
//
//   hasGlob(text) -> boolean
//   expandGlob(pattern, cwd) -> string[]   matching files (not directories), sorted, as the pattern
//                                          spells them (relative stays relative)
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export function hasGlob(text: string): boolean {
  return /[*?[{]/.test(text);
}

/** `{a,b}` alternatives expanded (nested ones too); an unbalanced brace is taken literally. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') {
      if (depth === 0) {
        open = i;
        commas.length = 0;
      }
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        if (commas.length === 0) {
          open = -1;
          continue; // `{x}` is literal, as in bash
        }
        const head = pattern.slice(0, open);
        const tail = pattern.slice(i + 1);
        const parts: string[] = [];
        let from = open + 1;
        for (const at of [...commas, i]) {
          parts.push(pattern.slice(from, at));
          from = at + 1;
        }
        return parts.flatMap((p) => expandBraces(head + p + tail));
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  return [pattern];
}

/** One path segment's pattern as a regular expression; undefined when it has no wildcard. */
function segmentRegex(segment: string): RegExp | undefined {
  if (!/[*?[]/.test(segment)) return undefined;
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '\\' && i + 1 < segment.length) {
      re += escape(segment[++i]!);
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]')}]`;
      i = close;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`);
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isDir(path: string, e: Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Files matching `pattern` (relative to `cwd` unless absolute), sorted, spelled as the pattern is. */
export function expandGlob(pattern: string, cwd: string): string[] {
  const found = new Set<string>();
  for (const p of expandBraces(pattern)) {
    const absolute = isAbsolute(p);
    const segments = p.split('/').filter((s, i) => s !== '' || i === 0);
    const root = absolute ? '/' : '';
    walk(absolute ? segments.slice(1) : segments, root, absolute ? '/' : cwd, found);
  }
  return [...found].sort();
}

function walk(segments: readonly string[], shown: string, real: string, found: Set<string>): void {
  if (segments.length === 0) {
    if (isFile(real)) found.add(shown);
    return;
  }
  const [head, ...rest] = segments;
  const join2 = (name: string) => (shown === '' ? name : shown.endsWith('/') ? shown + name : `${shown}/${name}`);
  if (head === '**') {
    walk(rest, shown, real, found); // zero directories
    for (const e of entries(real)) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory())
        walk(segments, join2(e.name), join(real, e.name), found); // no symlink loops
      else if (rest.length === 0 && isFile(join(real, e.name))) found.add(join2(e.name)); // a trailing ** is every file below
    }
    return;
  }
  const re = segmentRegex(head!);
  if (!re) {
    const literal = head!.replace(/\\(.)/g, '$1');
    walk(rest, join2(literal), join(real, literal), found);
    return;
  }
  for (const e of entries(real)) {
    if (e.name.startsWith('.') && !head!.startsWith('.')) continue;
    if (!re.test(e.name)) continue;
    const path = join(real, e.name);
    if (rest.length > 0 && !isDir(path, e)) continue;
    walk(rest, join2(e.name), path, found);
  }
}
