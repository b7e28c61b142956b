// A JSON parser (ECMA-404) that records the position of every node and reports duplicate keys,
// nesting that is too deep and syntax errors as diagnostics instead of throwing.
import { error, type Diagnostic } from './diagnostics.js';
import { PositionIndex, formatPath, type PathSegment, type SourceDoc } from './source.js';

/** A JSON value as parsed: what templates, properties and state are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const MAX_DEPTH = 256;

class Stop extends Error {}

interface JsonParseOptions {
  /** Code used for syntax errors (default `JSON_SYNTAX`). */
  syntaxCode?: string;
  duplicateCode?: string;
  maxDepth?: number;
}

export function parseJsonSource(text: string, file: string, opts: JsonParseOptions = {}): SourceDoc {
  const positions = new PositionIndex(file, text);
  const diagnostics: Diagnostic[] = [];
  const syntaxCode = opts.syntaxCode ?? 'JSON_SYNTAX';
  const duplicateCode = opts.duplicateCode ?? 'DUPLICATE_KEY';
  const maxDepth = opts.maxDepth ?? MAX_DEPTH;
  const path: PathSegment[] = [];
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // byte order mark

  const fail = (message: string, at = i): never => {
    const start = positions.pos(Math.min(at, text.length));
    diagnostics.push(error(syntaxCode, message, { path: formatPath(path) || undefined, range: { file, start } }));
    throw new Stop();
  };
  const describe = (at: number) => (at >= text.length ? 'end of input' : `'${text[at]}'`);

  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
  };

  const str = (): string => {
    const start = i;
    i++; // opening quote
    let simple = true;
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) {
        simple = false;
        i += 2;
        continue;
      }
      if (c < 32) fail('control character in string (escape it)', i);
      i++;
    }
    i++; // closing quote
    if (simple) return text.slice(start + 1, i - 1);
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('invalid escape sequence in string', start);
    }
  };

  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

  const value = (depth: number): unknown => {
    ws();
    const start = i;
    if (depth > maxDepth) fail(`document nested more than ${maxDepth} levels deep`);
    const c = text[i];
    let v: unknown;
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') i++;
      else
        for (;;) {
          ws();
          if (text[i] !== '"') fail(`expected a string key, found ${describe(i)}`);
          const keyStart = i;
          const k = str();
          ws();
          if (text[i] !== ':') fail(`expected ':' after key "${k}", found ${describe(i)}`);
          i++;
          path.push(k);
          if (seen.has(k)) {
            diagnostics.push(error(duplicateCode, `duplicate key "${k}"`, { path: formatPath(path), range: { file, start: positions.pos(keyStart) } }));
          }
          seen.add(k);
          const childStart = skipWs();
          const child = value(depth + 1);
          positions.set(path, { start: childStart, end: i, keyStart });
          path.pop();
          Object.defineProperty(obj, k, { value: child, enumerable: true, writable: true, configurable: true });
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === '}') {
            i++;
            break;
          }
          fail(`expected ',' or '}' in object, found ${describe(i)}`);
        }
      v = obj;
    } else if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') i++;
      else
        for (;;) {
          path.push(arr.length);
          const childStart = skipWs();
          const child = value(depth + 1);
          positions.set(path, { start: childStart, end: i });
          path.pop();
          arr.push(child);
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === ']') {
            i++;
            break;
          }
          fail(`expected ',' or ']' in array, found ${describe(i)}`);
        }
      v = arr;
    } else if (c === '"') v = str();
    else if (text.startsWith('true', i)) {
      i += 4;
      v = true;
    } else if (text.startsWith('false', i)) {
      i += 5;
      v = false;
    } else if (text.startsWith('null', i)) {
      i += 4;
      v = null;
    } else {
      NUM.lastIndex = i;
      const m = NUM.exec(text);
      if (!m) fail(`unexpected ${describe(i)}, expected a JSON value`);
      i += m![0].length;
      v = Number(m![0]);
    }
    if (depth === 0) positions.set([], { start, end: i });
    return v;
  };

  const skipWs = () => {
    ws();
    return i;
  };

  let result: unknown;
  try {
    ws();
    if (i >= text.length) fail('empty document');
    result = value(0);
    ws();
    if (i < text.length) fail(`unexpected ${describe(i)} after the end of the document`);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    result = undefined;
  }
  return { file, text, format: 'json', value: result, positions, diagnostics };
}
