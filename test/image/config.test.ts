// The plugin-config decoder: Packer's interpolate-then-mapstructure (WeaklyTypedInput, ErrorUnused).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RenderFailure } from '../../src/image/config/decode.js';
import { Decoder } from '../../src/image/config/decode.js';
import { render } from '../../src/image/interpolate.js';
import { goJsonSyntaxError } from '../../src/image/template.js';

const renderer = (s: string) => render(s, { user: { v: 'V' }, initTime: 0 });
const dec = (raw: Record<string, unknown>, late: string[] = []) => new Decoder(raw, renderer, late);

describe('Decoder', () => {
  it('renders every string, deeply, except late keys', () => {
    const d = dec({ a: '{{user `v`}}', l: ['x{{user `v`}}'], m: { k: '{{upper `y`}}' }, late: '{{.Path}}' }, ['late']);
    expect([d.str('a'), d.strList('l'), d.strMap('m'), d.str('late')]).toEqual(['V', ['xV'], { k: 'Y' }, '{{.Path}}']);
  });
  it('weak decoding: strings to bools and ints, scalars to lists of one', () => {
    const d = dec({ b: 'false', i: '42', s: 'one', n: 7, bi: 1 });
    expect([d.bool('b', true), d.int('i'), d.strList('s'), d.str('n'), d.bool('bi')]).toEqual([false, 42, ['one'], '7', true]);
    expect(d.issues).toEqual([]);
  });
  it('type errors use mapstructure wording', () => {
    const d = dec({ b: 'maybe', m: { a: 1 }, i: 'x' });
    d.bool('b');
    d.bool('m');
    d.int('i');
    expect(d.issues.map((i) => i.message)).toEqual([
      `cannot parse 'b' as bool: strconv.ParseBool: parsing "maybe": invalid syntax`,
      `'m' expected type 'bool', got unconvertible type 'map[interface {}]interface {}', value: 'map[a:1]'`,
      `cannot parse 'i' as int: strconv.ParseInt: parsing "x": invalid syntax`,
    ]);
  });
  it('unknown keys are reported at the key; Packer-injected keys are accepted', () => {
    const d = dec({ known: 'x', bogus: 1, packer_build_name: 'n' });
    d.str('known');
    d.finishUnknown();
    expect(d.issues).toEqual([{ message: `unknown configuration key: '"bogus"'`, at: ['bogus'], key: true }]);
  });
  it('a render failure stops decoding with "render" (run time) or "invalid" (parse) and the key', () => {
    const fail = (raw: Record<string, unknown>) => {
      try {
        dec(raw);
      } catch (e) {
        return (e as RenderFailure).issue;
      }
      return undefined;
    };
    expect(fail({ image: '{{nofunc}}' })).toEqual({ message: `invalid 'image': template: root:1: function "nofunc" not defined`, at: ['image'] });
    expect(fail({ image: '{{split `a` `-` 3}}' })!.message).toMatch(/^render 'image': template: root:1:2: executing "root" at <split `a` `-` 3>: error calling split/);
  });
  it('durations are Go durations', () => {
    const d = dec({ t: '1m30s', bad: '5' });
    expect(d.duration('t')).toBe(90000);
    d.duration('bad');
    expect(d.issues[0]!.message).toBe(`error decoding 'bad': time: missing unit in duration "5"`);
  });
});

describe('JSON syntax checker (property)', () => {
  it('accepts exactly what JSON.parse accepts', () => {
    const jsonish = fc.oneof(
      fc.json(),
      fc.json().map((s) => s.slice(0, Math.max(0, s.length - 1))),
      fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', ' ', '1', '-', '.', 'e', 't', 'r', 'u', 'n', 'l', '\\', 'a', '\n') }),
    );
    fc.assert(
      fc.property(jsonish, (s) => {
        let ok = true;
        try {
          JSON.parse(s);
        } catch {
          ok = false;
        }
        expect(goJsonSyntaxError(s) === undefined).toBe(ok);
      }),
      { numRuns: 2000 },
    );
  });
  it('text without actions renders unchanged', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('{{')),
        (s) => render(s, { user: {}, initTime: 0 }) === s,
      ),
    );
  });
});
