// Issue 12, hole 1: an AllowedPattern can never hang kiln nor be skipped. Every check ends in bounded
// time with a definite answer: match, no match, or an error saying why the pattern cannot be checked.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkParameterDefinitions, checkParameterValue } from '../../src/stack/params.js';
import { compilePattern, matchPattern } from '../../src/stack/pattern.js';
import { crashed, kiln } from './cli.js';

const verdict = (pattern: string, value: string) => matchPattern(compilePattern(pattern), [value])[0]!.kind;

describe('an AllowedPattern is answered in bounded time', () => {
  // Catastrophic for a backtracking engine; linear for RE2.
  it.each<[string, string, 'match' | 'no-match']>([
    ['(a|aa)+$', 'a'.repeat(5000) + 'b', 'no-match'],
    ['(a|a)*$', 'a'.repeat(5000) + 'b', 'no-match'],
    ['(.*a){25}', 'a'.repeat(4000) + 'b', 'no-match'],
    ['(a+)+b', 'a'.repeat(4000), 'no-match'],
    ['(\\w*)*x', 'w'.repeat(4000), 'no-match'],
    ['(a|aa)+', 'aaaa', 'match'],
    ['([a-z]+){2,}', 'abcdef', 'match'],
  ])('%s against a long value: %s', (pattern, value, expected) => {
    const started = Date.now();
    expect(verdict(pattern, value)).toBe(expected);
    expect(compilePattern(pattern).engine).toBe('linear');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a value longer than 24 characters is checked, not skipped, against a nested repetition', () => {
    const def = { Type: 'String', AllowedPattern: '(a+)+b' };
    expect(checkParameterValue('P', def, 'a'.repeat(60))).toEqual([`Parameter 'P' must match pattern (a+)+b, got '${'a'.repeat(60)}'`]);
    expect(checkParameterValue('P', def, 'a'.repeat(60) + 'b')).toEqual([]);
    expect(checkParameterDefinitions({ Parameters: { P: def }, Resources: {} })).toEqual([]);
  });

  it('a backreference is matched by a backtracking engine within a time budget', () => {
    expect(compilePattern('(ab)\\1').engine).toBe('backtracking');
    expect(verdict('(ab)\\1', 'abab')).toBe('match');
    expect(verdict('(ab)\\1', 'abba')).toBe('no-match');
    expect(verdict('(?=.*\\d)[a-z0-9]+', 'abc1')).toBe('match');
    expect(verdict('(?=.*\\d)[a-z0-9]+', 'abc')).toBe('no-match');
  });

  it('a backtracking match that runs out of time is refused with the reason, not accepted', () => {
    const started = Date.now();
    const [v] = matchPattern(compilePattern('(a|a)*\\1b'), ['a'.repeat(40)]);
    expect(v).toEqual({ kind: 'unchecked', reason: expect.stringMatching(/backreference \\1 at column 7.*did not finish within 1 s/) });
    const msgs = checkParameterValue('P', { Type: 'String', AllowedPattern: '(a|a)*\\1b' }, 'a'.repeat(40));
    expect(msgs).toEqual([expect.stringContaining("Parameter 'P': the value cannot be checked against AllowedPattern (a|a)*\\1b")]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it.each<[string, string, 'match' | 'no-match']>([
    ['[a-z0-9]{6,16}+', 'abcdef', 'match'], // possessive quantifier, read as greedy
    ['a*+b', 'aab', 'match'],
    ['(?>ab|a)c', 'abc', 'match'], // atomic group, read as a plain group
    ['\\p{Alpha}+\\p{Digit}', 'abc1', 'match'], // Java's POSIX classes
    ['\\p{Alpha}+', 'ab1', 'no-match'],
    ['[\\p{Lower}\\d]+', 'a1b2', 'match'],
    ['\\p{L}+', 'éa', 'match'],
    ['\\Qa.b\\E', 'a.b', 'match'],
    ['\\Qa.b\\E', 'axb', 'no-match'],
    ['a.b', 'a\nb', 'no-match'], // Java's `.` stops at line ends
    ['(?s)a.b', 'a\nb', 'match'],
    ['(?i)abc', 'ABC', 'match'],
    ['\\u0041\\x42\\0103', 'ABC', 'match'],
    ['\\s+', ' \t', 'match'],
    ['[^,]+', 'a,b', 'no-match'],
    ['(?<word>[a-z]+)-\\d', 'ab-1', 'match'],
    ['x{2}y{1,}z{0,1}', 'xxyyz', 'match'],
    ['a{', 'a{', 'match'], // a brace that starts no repetition is itself
    ['\\Aab\\z', 'ab', 'match'],
  ])('Java syntax %s against %j: %s', (pattern, value, expected) => expect(verdict(pattern, value)).toBe(expected));

  it.each<[string, RegExp]>([
    ['[a-', /not a valid regular expression: an unclosed character class at column 1/],
    ['(ab', /not a valid regular expression: an unclosed \(/],
    ['ab)', /not a valid regular expression: an unmatched \) at column 3/],
    ['\\i', /not a valid regular expression: the escape \\i is not defined at column 1/],
    ['x{3,1}', /minimum above its maximum at column 2/],
  ])('an invalid pattern %s is an error with its column', (pattern, message) => {
    const d = checkParameterDefinitions({ Parameters: { P: { Type: 'String', AllowedPattern: pattern } }, Resources: {} });
    expect(d).toEqual([expect.objectContaining({ severity: 'error', code: 'PARAM_DEFINITION', segments: ['Parameters', 'P', 'AllowedPattern'], message: expect.stringMatching(message) })]);
  });

  it.each<[string, RegExp]>([
    ['[a-z&&[^q]]+', /character class intersection && at column 5/],
    ['[a[b]]', /character class union .* at column 3/],
    ['(?x) a b', /flag x \(comments\) at column 1/],
    ['\\Gab', /\\G \(at column 1\) is not supported/],
  ])('a Java feature kiln cannot check (%s) is said so, and a value for it is refused', (pattern, message) => {
    const def = { Type: 'String', AllowedPattern: pattern };
    const d = checkParameterDefinitions({ Parameters: { P: def }, Resources: {} });
    expect(d).toEqual([expect.objectContaining({ severity: 'warning', code: 'PARAM_PATTERN_UNCHECKABLE', message: expect.stringMatching(message) })]);
    expect(checkParameterValue('P', def, 'ab')).toEqual([expect.stringMatching(message)]);
  });
});

describe('the commands on a catastrophic AllowedPattern', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-hostile-re-'));
  const template = (p: Record<string, unknown>) => {
    const f = join(dir, `t${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify({ Parameters: { P: { Type: 'String', ...p } }, Resources: { T: { Type: 'AWS::SNS::Topic' } } }));
    return f;
  };
  const long = 'a'.repeat(44) + 'b';

  it.each<[string, Record<string, unknown>, string[], number, RegExp]>([
    ['validate, a Default that does not match', { AllowedPattern: '(a|aa)+$', Default: long }, ['validate'], 1, /PARAM_DEFAULT.*must match pattern/],
    ['validate, a given value that does not match', { AllowedPattern: '(a|a)*$' }, ['validate', '--param', `P=${long}`], 1, /PARAM_VALUE.*must match pattern/],
    ['render, a Default that does not match', { AllowedPattern: '(.*a){25}', Default: long }, ['render'], 1, /must match pattern/],
    ['render, a value that matches', { AllowedPattern: '(a|aa)+' }, ['render', '--param', `P=${'a'.repeat(60)}`], 0, /^$/],
    ['plan, a Default that does not match', { AllowedPattern: '(a|aa)+$', Default: long }, ['plan', '--stack', 'hostile-re'], 1, /must match pattern/],
    ['validate, a backreference that runs out of time', { AllowedPattern: '(a|a)*\\1b', Default: 'a'.repeat(40) }, ['validate'], 1, /cannot be checked.*did not finish within 1 s/],
  ])('%s: ends at once with a definite answer', async (_what, def, argv, code, stderr) => {
    const f = template(def);
    const [cmd, ...rest] = argv;
    const r = await kiln([cmd!, f, ...rest], { env: { KILN_PROVIDER: 'fake', KILN_HOME: dir }, timeoutMs: 15_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(stderr);
    expect(crashed(r)).toBe(false);
  });
});
