import { describe, expect, it } from 'vitest';
import { parseJsonSource } from '../../src/core/json.js';
import { formatDiagnostic } from '../../src/core/diagnostics.js';

describe('JSON source parser', () => {
  it('parses values the same way JSON.parse does', () => {
    const text = '{"a": [1, 2.5e3, -0, true, false, null], "b": {"c": "x\\u00e9\\n"}, "": ""}';
    const doc = parseJsonSource(text, 't.json');
    expect(doc.diagnostics).toEqual([]);
    expect(doc.value).toEqual(JSON.parse(text));
  });

  it('records the position of every member and array element', () => {
    const text = '{\n  "Resources": {\n    "Web": { "Type": "AWS::EC2::Instance" }\n  },\n  "L": [1,\n   2]\n}';
    const doc = parseJsonSource(text, 't.json');
    expect(doc.positions.range(['Resources', 'Web', 'Type'])?.start).toMatchObject({ line: 3, col: 22 });
    expect(doc.positions.range(['Resources', 'Web', 'Type'], { key: true })?.start).toMatchObject({ line: 3, col: 14 });
    expect(doc.positions.range(['L', 1])?.start).toMatchObject({ line: 6, col: 4 });
    // a path that does not exist falls back to its nearest ancestor
    expect(doc.positions.range(['Resources', 'Web', 'Properties'])?.start).toMatchObject({ line: 3, col: 12 });
  });

  it('reports a syntax error with its line and column and yields no value', () => {
    const doc = parseJsonSource('{\n  "a": 1,\n  "b" 2\n}', 'bad.json');
    expect(doc.value).toBeUndefined();
    expect(doc.diagnostics.map((d) => formatDiagnostic(d))).toEqual(["bad.json:3:7: error[JSON_SYNTAX]: expected ':' after key \"b\", found '2'"]);
  });

  it('reports duplicate keys at the second occurrence and keeps parsing', () => {
    const doc = parseJsonSource('{"a": 1,\n "a": 2}', 'd.json');
    expect(doc.value).toEqual({ a: 2 });
    expect(doc.diagnostics).toHaveLength(1);
    expect(doc.diagnostics[0]).toMatchObject({ code: 'DUPLICATE_KEY', range: { start: { line: 2, col: 2 } } });
  });

  it('refuses nesting deeper than the limit instead of overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const doc = parseJsonSource(deep, 'deep.json');
    expect(doc.value).toBeUndefined();
    expect(doc.diagnostics[0]?.message).toMatch(/nested more than 256 levels/);
  });

  it('treats __proto__ as an ordinary key', () => {
    const doc = parseJsonSource('{"__proto__": {"x": 1}}', 'p.json');
    expect(Object.keys(doc.value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ['', 'empty document'],
    ['{"a": 1} x', "unexpected 'x' after the end"],
    ['"abc', 'unterminated string'],
    ['[1,]', 'expected a JSON value'],
    ['{"a": 01}', "expected ',' or '}'"],
  ])('rejects %j', (text, message) => {
    const doc = parseJsonSource(text, 'x.json');
    expect(doc.diagnostics[0]?.message).toContain(message);
  });
});
