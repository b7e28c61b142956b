// AllowedPattern: CloudFormation checks a parameter value against it with Java's regex engine
// (`java.util.regex`, whole-value match). kiln answers every check in bounded time:
//
//   - A pattern without backtracking-only features is translated to RE2 syntax and matched by a
//     linear-time engine (re2js): no value can make it slow, nested repetition included.
//   - A pattern that needs backtracking (backreferences, lookahead, lookbehind) is matched by
//     JavaScript's engine in a worker thread with a time budget (src/core/regex-budget.ts).
//   - Either way the answer is definite: match, no match, or "cannot be checked" with the reason
//     and where in the pattern the feature that prevents it sits. Never a silent skip.
//
// Public API:
//   compilePattern(pattern) -> CompiledPattern     (cached; `problem` set when it is invalid)
//   matchPattern(compiled, values) -> PatternVerdict[]
//   PATTERN_BUDGET_MS
//
// Java constructs read on the safe side (accepting at least what Java accepts): possessive
// quantifiers (`a*+`) and atomic groups (`(?>…)`) as their greedy, non-atomic forms. Constructs
// with no faithful translation (character class union and intersection, comments mode, `\G`) make
// the pattern "cannot be checked", never a wrong answer.
import { RE2JS } from 're2js';
import { matchWithBudget } from '../core/regex-budget.js';

/** How long a backtracking match may take before the value is refused as uncheckable. */
export const PATTERN_BUDGET_MS = 1000;

/** Where in the pattern something is: a 0-based offset (messages show it 1-based as a column). */
interface PatternProblem {
  message: string;
  offset: number;
}

interface CompiledPattern {
  pattern: string;
  /** The engine that answers: linear (RE2), backtracking (JavaScript, with a time budget), none. */
  engine: 'linear' | 'backtracking' | 'none';
  /** Why the pattern cannot be used (invalid, or a construct kiln cannot check). */
  problem?: PatternProblem;
  /** For `backtracking`: the feature that needs it, with its offset. */
  backtracking?: PatternProblem;
  /** Source for the engine (RE2 syntax, or JavaScript with the `u` flag). */
  source?: string;
  flags?: string;
  re2?: RE2JS;
  /** Backtracking: the answers so far, by value, and whether the budget ran out once. */
  seen?: Map<string, boolean>;
  timedOut?: boolean;
}

type PatternVerdict = { kind: 'match' } | { kind: 'no-match' } | { kind: 'unchecked'; reason: string };

type Target = 're2' | 'js';

class Unsupported extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

class Invalid extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const hex = (cp: number, target: Target) => (target === 're2' ? `\\x{${cp.toString(16)}}` : `\\u{${cp.toString(16)}}`);

/** A literal code point, escaped so that both engines read it as itself. */
function literal(cp: number, target: Target, inClass: boolean): string {
  const ch = String.fromCodePoint(cp);
  if (/[A-Za-z0-9_]/.test(ch)) return ch;
  if (cp < 0x20 || cp >= 0x7f) return hex(cp, target);
  if (inClass) return /[\]\\^-]/.test(ch) ? `\\${ch}` : ch === '[' ? '\\[' : ch;
  return /[\\^$.|?*+()[\]{}/]/.test(ch) ? `\\${ch}` : ch;
}

// Java's predefined classes that engines read differently, as class bodies (without brackets).
const JAVA_SPACE = '\\t\\n\\x0B\\f\\r '; // \s: [ \t\n\x0B\f\r]
const H_SPACE = (t: Target) => [0x20, 0x09, 0xa0, 0x1680, 0x180e, 0x2000, 0x200a, 0x202f, 0x205f, 0x3000].map((c, i) => (i === 6 ? '-' : '') + hex(c, t)).join('');
const V_SPACE = (t: Target) => ['\\n', '\\x0B', '\\f', '\\r', hex(0x85, t), hex(0x2028, t), hex(0x2029, t)].join('');
const LINE_END = (t: Target) => ['\\n', '\\r', hex(0x85, t), hex(0x2028, t), hex(0x2029, t)].join('');

// Java's POSIX-named classes (`\p{Alpha}`) as ASCII class bodies.
const POSIX: Record<string, string> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\x00-\\x7F',
  Alpha: 'A-Za-z',
  Digit: '0-9',
  Alnum: '0-9A-Za-z',
  Punct: '!-\\/:-@\\[-`{-~',
  Graph: '!-~',
  Print: ' -~',
  Blank: ' \\t',
  Cntrl: '\\x00-\\x1F\\x7F',
  XDigit: '0-9A-Fa-f',
  Space: JAVA_SPACE,
};
const CATEGORIES = new Set('L Lu Ll Lt Lm Lo M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Co Cs'.split(' '));

/**
 * Translates a Java pattern for one engine. Records (in `needs`) the first backtracking-only
 * feature; throws Invalid for a pattern Java refuses, Unsupported for one kiln cannot check.
 */
function translate(p: string, target: Target, needs: { feature?: PatternProblem }): { source: string; flags: string } {
  let out = '';
  let i = 0;
  let depth = 0;
  let jsFlags = '';
  let dotAll = false; // an inline (?s) was seen: `.` is the engine's own, which follows the flag's scope
  const need = (message: string, offset: number) => {
    needs.feature ??= { message, offset };
    if (target === 're2') throw new Unsupported(message, offset);
  };

  /** Reads an escape at p[i] === '\\'; returns what to emit (`inClass`: inside […]). */
  const escape = (inClass: boolean): string => {
    const at = i;
    const c = p[i + 1];
    if (c === undefined) throw new Invalid('a trailing backslash', at);
    i += 2;
    const single = (body: string, negated: boolean) => (inClass ? (negated ? null : body) : `[${negated ? '^' : ''}${body}]`);
    switch (c) {
      case 't':
        return '\\t';
      case 'n':
        return '\\n';
      case 'r':
        return '\\r';
      case 'f':
        return '\\f';
      case 'a':
        return hex(7, target);
      case 'e':
        return hex(27, target);
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        return `\\${c}`;
      case 's':
      case 'S': {
        const s = single(JAVA_SPACE, c === 'S');
        if (s === null) return '\\S';
        return s;
      }
      case 'h':
      case 'H': {
        const s = single(H_SPACE(target), c === 'H');
        if (s === null) throw new Unsupported(`\\H inside a character class (at column ${at + 1}) has no translation`, at);
        return s;
      }
      case 'v':
      case 'V': {
        const s = single(V_SPACE(target), c === 'V');
        if (s === null) throw new Unsupported(`\\V inside a character class (at column ${at + 1}) has no translation`, at);
        return s;
      }
      case 'R':
        if (inClass) throw new Invalid('\\R inside a character class', at);
        return `(?:\\r\\n|[${V_SPACE(target)}])`;
      case 'b':
      case 'B':
        if (inClass) throw new Invalid(`\\${c} inside a character class`, at);
        if (p[i] === '{') throw new Unsupported(`the boundary \\${c}{…} (at column ${at + 1}) is not supported`, at);
        return `\\${c}`;
      case 'A':
        if (inClass) throw new Invalid('\\A inside a character class', at);
        return target === 're2' ? '\\A' : '^';
      case 'z':
        if (inClass) throw new Invalid('\\z inside a character class', at);
        return target === 're2' ? '\\z' : '$';
      case 'Z':
        if (inClass) throw new Invalid('\\Z inside a character class', at);
        return target === 're2' ? `(?:[${LINE_END(target)}]?\\z)` : `(?:[${LINE_END(target)}]?$)`;
      case 'G':
      case 'X':
        throw new Unsupported(`\\${c} (at column ${at + 1}) is not supported`, at);
      case 'Q': {
        const end = p.indexOf('\\E', i);
        const text = end < 0 ? p.slice(i) : p.slice(i, end);
        i = end < 0 ? p.length : end + 2;
        let s = '';
        for (const ch of text) s += literal(ch.codePointAt(0)!, target, inClass);
        return s;
      }
      case 'E':
        return ''; // a stray \E is ignored, as Java does
      case 'x': {
        if (p[i] === '{') {
          const m = /^\{([0-9A-Fa-f]{1,6})\}/.exec(p.slice(i));
          if (!m || parseInt(m[1]!, 16) > 0x10ffff) throw new Invalid('\\x{…} needs a hexadecimal code point', at);
          i += m[0].length;
          return literal(parseInt(m[1]!, 16), target, inClass);
        }
        const m = /^[0-9A-Fa-f]{2}/.exec(p.slice(i));
        if (!m) throw new Invalid('\\x needs two hexadecimal digits', at);
        i += 2;
        return literal(parseInt(m[0], 16), target, inClass);
      }
      case 'u': {
        const m = /^[0-9A-Fa-f]{4}/.exec(p.slice(i));
        if (!m) throw new Invalid('\\u needs four hexadecimal digits', at);
        i += 4;
        return literal(parseInt(m[0], 16), target, inClass);
      }
      case '0': {
        const m = /^[0-7]{1,3}/.exec(p.slice(i));
        if (!m) throw new Invalid('\\0 needs octal digits', at);
        let digits = m[0];
        if (digits.length === 3 && digits[0]! > '3') digits = digits.slice(0, 2);
        i += digits.length;
        return literal(parseInt(digits, 8), target, inClass);
      }
      case 'c': {
        const x = p[i];
        if (x === undefined) throw new Invalid('\\c needs a control letter', at);
        i++;
        return literal(x.charCodeAt(0) ^ 64, target, inClass);
      }
      case 'k': {
        const m = /^<([A-Za-z][A-Za-z0-9]*)>/.exec(p.slice(i));
        if (!m) throw new Invalid('\\k needs a group name: \\k<name>', at);
        i += m[0].length;
        need(`the backreference \\k<${m[1]}> at column ${at + 1}`, at);
        return `\\k<${m[1]}>`;
      }
      case 'p':
      case 'P': {
        let name: string;
        if (p[i] === '{') {
          const end = p.indexOf('}', i);
          if (end < 0) throw new Invalid(`unclosed \\${c}{`, at);
          name = p.slice(i + 1, end);
          i = end + 1;
        } else {
          name = p[i] ?? '';
          if (!name) throw new Invalid(`\\${c} needs a class name`, at);
          i++;
        }
        const neg = c === 'P';
        const bare = name.replace(/^Is/, '');
        const posix = POSIX[name] ?? POSIX[bare];
        if (posix !== undefined) {
          const s = single(posix, neg);
          if (s === null) throw new Unsupported(`\\P{${name}} inside a character class (at column ${at + 1}) has no translation`, at);
          return s;
        }
        if (CATEGORIES.has(bare) || /^(Latin|Greek|Cyrillic|Han|Arabic|Hebrew|Hiragana|Katakana|Common)$/.test(bare)) return `\\${c}{${bare}}`;
        throw new Unsupported(`the class \\${c}{${name}} (at column ${at + 1}) is not supported`, at);
      }
      default:
        if (/[1-9]/.test(c)) {
          if (inClass) throw new Invalid('a backreference inside a character class', at);
          let n = c;
          while (/[0-9]/.test(p[i] ?? '')) n += p[i++];
          need(`the backreference \\${n} at column ${at + 1}`, at);
          return `\\${n}`;
        }
        if (/[A-Za-z]/.test(c)) throw new Invalid(`the escape \\${c} is not defined`, at);
        return literal(c.codePointAt(0)!, target, inClass);
    }
  };

  const charClass = (): string => {
    const at = i;
    i++; // [
    let s = '[';
    if (p[i] === '^') {
      s += '^';
      i++;
    }
    let first = true;
    for (;;) {
      const c = p[i];
      if (c === undefined) throw new Invalid('an unclosed character class', at);
      if (c === ']' && !first) {
        i++;
        return s + ']';
      }
      first = false;
      if (c === '\\') s += escape(true);
      else if (c === '[') throw new Unsupported(`the character class union [..[..]..] at column ${i + 1} (a Java feature) is not supported`, i);
      else if (c === '&' && p[i + 1] === '&') throw new Unsupported(`the character class intersection && at column ${i + 1} (a Java feature) is not supported`, i);
      else {
        const cp = p.codePointAt(i)!;
        i += cp > 0xffff ? 2 : 1;
        s += c === '-' ? '-' : literal(cp, target, true);
      }
    }
  };

  const quantifierTail = () => {
    if (p[i] === '+')
      i++; // possessive: read as greedy
    else if (p[i] === '?') {
      out += '?';
      i++;
    }
  };

  while (i < p.length) {
    const c = p[i]!;
    const at = i;
    switch (c) {
      case '\\':
        out += escape(false);
        break;
      case '[':
        out += charClass();
        break;
      case '.':
        out += dotAll ? '.' : `[^${LINE_END(target)}]`;
        i++;
        break;
      case '^':
      case '$':
      case '|':
        out += c;
        i++;
        break;
      case '(': {
        depth++;
        const rest = p.slice(i + 1);
        if (!rest.startsWith('?')) {
          out += '(';
          i++;
        } else if (rest.startsWith('?:')) {
          out += '(?:';
          i += 3;
        } else if (/^\?<[A-Za-z]/.test(rest)) {
          const m = /^\?<([A-Za-z][A-Za-z0-9]*)>/.exec(rest);
          if (!m) throw new Invalid('a group name must be letters and digits, starting with a letter', at);
          out += target === 're2' ? `(?P<${m[1]}>` : `(?<${m[1]}>`;
          i += 1 + m[0].length;
        } else if (/^\?(=|!|<=|<!)/.test(rest)) {
          const op = /^\?(=|!|<=|<!)/.exec(rest)![1]!;
          need(`the ${op.startsWith('<') ? 'lookbehind' : 'lookahead'} (?${op} at column ${at + 1}`, at);
          out += `(?${op}`;
          i += 2 + op.length;
        } else if (rest.startsWith('?>')) {
          out += '(?:'; // atomic group: read as a plain group
          i += 3;
        } else {
          const m = /^\?([idmsuxU]*)(?:-([idmsuxU]*))?([:)])/.exec(rest);
          if (!m) throw new Invalid('an unknown group construct (?…', at);
          const on = m[1]!;
          const off = m[2] ?? '';
          if (/[xU]/.test(on + off)) throw new Unsupported(`the flag ${/x/.test(on + off) ? 'x (comments)' : 'U (Unicode classes)'} at column ${at + 1} is not supported`, at);
          if (on.includes('s')) dotAll = true;
          const keep = (f: string) => f.replace(/[du]/g, '');
          const [kOn, kOff] = [keep(on), keep(off)];
          if (target === 'js') {
            // JavaScript has no inline flags: only a case-insensitive flag for the whole pattern.
            if (at === 0 && m[3] === ')' && kOff === '' && /^i?$/.test(kOn)) jsFlags += kOn;
            else if (kOn || kOff) throw new Unsupported(`inline flags (?${on}${off ? '-' + off : ''}) at column ${at + 1} cannot be combined with lookaround or backreferences`, at);
            out += m[3] === ':' ? '(?:' : '';
          } else {
            const flags = kOn + (kOff ? `-${kOff}` : '');
            out += m[3] === ':' ? (flags ? `(?${flags}:` : '(?:') : flags ? `(?${flags})` : '';
          }
          if (m[3] === ')') depth--;
          i += 1 + m[0].length;
        }
        break;
      }
      case ')':
        if (depth === 0) throw new Invalid('an unmatched )', at);
        depth--;
        out += ')';
        i++;
        break;
      case '*':
      case '+':
      case '?':
        out += c;
        i++;
        quantifierTail();
        break;
      case '{': {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
        if (!m) {
          out += '\\{'; // not a repetition: a literal brace
          i++;
          break;
        }
        if (m[3] && Number(m[3]) < Number(m[1])) throw new Invalid(`the repetition ${m[0]} has a minimum above its maximum`, at);
        out += m[0];
        i += m[0].length;
        quantifierTail();
        break;
      }
      default: {
        const cp = p.codePointAt(i)!;
        i += cp > 0xffff ? 2 : 1;
        out += c === '}' || c === ']' ? `\\${c}` : literal(cp, target, false);
      }
    }
  }
  if (depth > 0) throw new Invalid('an unclosed (', p.length);
  return { source: out, flags: jsFlags };
}

const CACHE = new Map<string, CompiledPattern>();

/** Compiles an AllowedPattern once (cached by its text). */
export function compilePattern(pattern: string): CompiledPattern {
  const hit = CACHE.get(pattern);
  if (hit) return hit;
  const compiled = compileUncached(pattern);
  if (CACHE.size > 1000) CACHE.clear();
  CACHE.set(pattern, compiled);
  return compiled;
}

function problemOf(e: unknown, pattern: string): PatternProblem {
  if (e instanceof Invalid) return { message: `is not a valid regular expression: ${e.message} at column ${Math.min(e.offset, pattern.length) + 1}`, offset: e.offset };
  if (e instanceof Unsupported) return { message: `cannot be checked: ${e.message}`, offset: e.offset };
  return { message: `is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`, offset: 0 };
}

function compileUncached(pattern: string): CompiledPattern {
  const needs: { feature?: PatternProblem } = {};
  try {
    const { source } = translate(pattern, 're2', needs);
    try {
      return { pattern, engine: 'linear', source, re2: RE2JS.compile(source) };
    } catch {
      // RE2 refuses some valid Java patterns (repetition counts over 1000): backtracking instead.
      needs.feature = { message: 'a repetition larger than the linear engine allows', offset: 0 };
    }
  } catch (e) {
    if (e instanceof Invalid) return { pattern, engine: 'none', problem: problemOf(e, pattern) };
    if (!(e instanceof Unsupported) || !needs.feature) return { pattern, engine: 'none', problem: problemOf(e, pattern) };
  }
  try {
    const { source, flags } = translate(pattern, 'js', {});
    const full = `^(?:${source})$`;
    new RegExp(full, `u${flags}`); // syntax only: compiling never runs the pattern
    return { pattern, engine: 'backtracking', source: full, flags: `u${flags}`, backtracking: needs.feature, seen: new Map() };
  } catch (e) {
    return { pattern, engine: 'none', problem: problemOf(e, pattern) };
  }
}

/**
 * Matches each value against the whole pattern. The linear engine always answers; the
 * backtracking one answers within PATTERN_BUDGET_MS for all the values together or says so.
 */
export function matchPattern(c: CompiledPattern, values: readonly string[]): PatternVerdict[] {
  if (c.engine === 'linear') return values.map((v) => (c.re2!.matches(v) ? { kind: 'match' } : { kind: 'no-match' }));
  if (c.engine === 'none') return values.map(() => ({ kind: 'unchecked', reason: `the pattern ${c.problem!.message}` }));
  const slow = (why: string): PatternVerdict => ({ kind: 'unchecked', reason: `matching needs backtracking (for ${c.backtracking?.message ?? 'a feature of the pattern'}) and ${why}` });
  // A pattern that ran out of time once is not run again (each try would cost the whole budget).
  if (c.timedOut) return values.map(() => slow(`did not finish within ${PATTERN_BUDGET_MS / 1000} s`));
  const todo = [...new Set(values.filter((v) => !c.seen!.has(v)))];
  if (todo.length) {
    const r = matchWithBudget(c.source!, c.flags!, todo, PATTERN_BUDGET_MS);
    if (r.kind === 'timeout') c.timedOut = true;
    if (r.kind !== 'results') return values.map(() => slow(r.kind === 'timeout' ? `did not finish within ${PATTERN_BUDGET_MS / 1000} s` : `failed (${r.error})`));
    if (c.seen!.size > 1000) c.seen!.clear();
    todo.forEach((v, i) => c.seen!.set(v, r.results[i] === true));
  }
  return values.map((v) => (c.seen!.get(v) ? { kind: 'match' } : { kind: 'no-match' }));
}
