// NoEcho values never leave memory. Resource properties are stored with each NoEcho value replaced by
// a token `{{kiln:noecho:<Name>:<h>}}`, where <h> is 16 hex digits of a salted SHA-256 of the value:
// a changed secret changes the token (so the planner sees the change) while state holds no secret.
// Before a provider call the tokens are turned back into the values this process was given; a token
// whose value is not at hand (a rollback needing an older secret) is an error naming the parameter.
// Everything shown (events, reasons, outputs) goes through `mask`, which prints `****`.
// A value of at least MIN_DERIVED characters is replaced wherever it occurs, also inside a longer
// text; a shorter one (a one-letter secret, a short piece of a Fn::Split of one) only where it is a
// whole string: replacing every "a" in every text would mangle all output and hide nothing. What
// Fn::Join and Fn::Sub build from a short secret is tracked as a secret of its own (stack/evaluator.ts).
import { createHash, randomBytes } from 'node:crypto';
import { replaceSecrets } from '../core/mask.js';
import type { Json } from '../stack/model.js';

export const MASK = '****';

export interface Secret {
  name: string;
  value: string;
  salt: string;
}

export function saltedHash(salt: string, value: string): string {
  return createHash('sha256').update(`${salt}\u0000${value}`).digest('hex');
}

export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

const TOKEN = /\{\{kiln:noecho:([A-Za-z0-9]+):([0-9a-f]{16})\}\}/g;

type Entry = Secret & { token: string };

/** True when `x` is replaced only where it is a whole string. */

export class Secrets {
  private readonly list: Entry[];
  constructor(secrets: readonly Secret[] = []) {
    this.list = secrets
      .filter((s) => s.value !== '')
      .map((s) => ({ ...s, token: `{{kiln:noecho:${s.name}:${saltedHash(s.salt, s.value).slice(0, 16)}}}` }))
      .sort((a, b) => b.value.length - a.value.length);
  }

  /** Replaces each secret in `s` by what `by` gives: a short one only when it is the whole of `s`. */
  private replace(s: string, by: (x: Entry) => string): string {
    return replaceSecrets(s, this.list, by);
  }

  /** Each secret value → the parameter it belongs to (for taint tracking at deploy time). */
  byValue(): Map<string, string> {
    return new Map(this.list.map((x) => [x.value, x.name]));
  }

  /** A value computed at deploy time from a secret (a Fn::Base64 of a Fn::Join with an attribute):
   *  secret under the same parameter, with its salt. */
  addDerived(name: string, value: string): void {
    const like = this.list.find((x) => x.name === name);
    if (!like || value === '' || this.list.some((x) => x.value === value)) return;
    this.list.push({ name, value, salt: like.salt, token: `{{kiln:noecho:${name}:${saltedHash(like.salt, value).slice(0, 16)}}}` });
    this.list.sort((a, b) => b.value.length - a.value.length);
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  private mapStrings(v: Json, f: (s: string) => string): Json {
    if (typeof v === 'string') return f(v);
    if (Array.isArray(v)) return v.map((x) => this.mapStrings(x, f));
    if (v && typeof v === 'object') {
      const o: Record<string, Json> = {};
      for (const [k, x] of Object.entries(v)) o[k] = this.mapStrings(x, f);
      return o;
    }
    return v;
  }

  /** Secret values → tokens (what state stores). */
  tokenise<T extends Json>(v: T): T {
    if (this.list.length === 0) return v;
    return this.mapStrings(v, (s) => this.replace(s, (x) => x.token)) as T;
  }

  /** Tokens → secret values (what a provider receives). Throws when a value is not at hand. */
  reveal<T extends Json>(v: T): T {
    return this.mapStrings(v, (s) =>
      s.includes('{{kiln:noecho:')
        ? s.replace(TOKEN, (tok, name: string) => {
            const hit = this.list.find((x) => x.token === tok);
            if (!hit) throw new Error(`the value of NoEcho parameter ${name} used by this resource is not known to this run (kiln never stores it): pass --param ${name}=… with the value it had`);
            return hit.value;
          })
        : s,
    ) as T;
  }

  /** Like `reveal`, but a token whose value is not at hand becomes `****` instead of an error: for
   *  what a provider only needs to find or remove a resource (delete, read, the previous properties). */
  revealKnown<T extends Json>(v: T): T {
    return this.mapStrings(v, (s) => (s.includes('{{kiln:noecho:') ? s.replace(TOKEN, (tok) => this.list.find((x) => x.token === tok)?.value ?? MASK) : s)) as T;
  }

  /** Secret values and tokens → `****` (anything shown to a person or written to a log). */
  mask(s: string): string {
    return this.replace(s.replace(TOKEN, MASK), () => MASK);
  }

  /** True when `v` (as evaluated, not yet masked) holds a secret: a NoEcho value, a value built from
   *  one, or a token, by the same rule `mask` follows. A literal `****` is not one. */
  holds(v: Json): boolean {
    if (typeof v === 'string') return this.mask(v) !== v;
    if (Array.isArray(v)) return v.some((x) => this.holds(x));
    if (v && typeof v === 'object') return Object.values(v).some((x) => this.holds(x));
    return false;
  }

  maskJson<T extends Json>(v: T): T {
    return this.mapStrings(v, (s) => this.mask(s)) as T;
  }
}
