// The `{{ }}` engine: every function of reference §3, pipes, fields, errors with Go's wording.
// Expected values were checked with `packer console` (Packer 1.6.6) where the function exists there.
import { describe, expect, it } from 'vitest';
import { cleanResourceName, formatGoTime, render, strftime, TemplateError, timeOrderedUUID, type InterpContext } from '../../src/image/interpolate.js';

const T = Date.UTC(2026, 10, 25, 20, 55, 25, 149); // 1795640125.149
const ctx = (over: Partial<InterpContext> = {}): InterpContext => ({
  user: { name: 'web', ver: '1.2', empty: '' },
  initTime: T,
  buildName: 'local',
  buildType: 'docker',
  templateDir: '/tpl',
  pwd: '/work',
  data: {},
  random: () => 0.5,
  ...over,
});

describe('render: functions (table)', () => {
  const cases: Array<[string, string]> = [
    ['plain text', 'plain text'],
    ['{{ "x" | upper }}', 'X'],
    ['{{ "A-b" | lower }}', 'a-b'],
    ['{{upper `tubes`}}', 'TUBES'],
    ['{{user `name`}}-{{user `ver`}}', 'web-1.2'],
    ['[{{user `nope`}}]', '[]'],
    ['{{timestamp}}', '1795640125'],
    ['{{isotime}}', '2026-11-25T20:55:25Z'],
    ['{{ isotime "2006-01-02" }}', '2026-11-25'],
    ['{{isotime "2006-01-02 Mon Jan _2 15:04:05.000 PM -0700 MST"}}', '2026-11-25 Wed Nov 25 20:55:25.149 PM +0000 UTC'],
    ['{{ isotime "Monday January 2 3:4:5 pm 06 002 Z07:00" }}', 'Wednesday November 25 8:55:25 pm 26 329 Z'],
    ['{{strftime "%Y%m%d %H:%M:%S %a %b %j"}}', '20261125 20:55:25 Wed Nov %j'],
    ['{{strftime "%A|%B|%I|%L|%p|%y|%z|%Z|%%"}}', 'Wednesday|November|08|.149|PM|26|+0000|UTC|%'],
    ['{{build_name}}/{{build_type}}', 'local/docker'],
    ['{{template_dir}}', '/tpl'],
    ['{{pwd}}', '/work'],
    ['{{packer_version}}', '1.6.6'],
    ['{{split "foo-bar" "-" 0}}', 'foo'],
    ['{{split "abc" "" 1}}', 'b'],
    ['{{replace "a" "b" 1 "aaa"}}', 'baa'],
    ['{{replace "" "-" -1 "ab"}}', '-a-b-'],
    ['{{replace_all "a" "b" "aaa"}}', 'bbb'],
    ['{{ "aaa" | replace_all "a" "b" }}', 'bbb'],
    ['{{ .Foo }}', '<no value>'],
    ['{{- "a" -}} b', 'ab'],
    ['x {{- "a" }}', 'xa'],
    ['{{/* c */}}z', 'z'],
    ['{{ printf "%d-%v-%q" 3 "a" "b" }}', '3-a-"b"'],
    ['{{ (upper "a") }}', 'A'],
    ['{{ upper (lower "AB") }}', 'AB'],
    ['{{ len "abc" }}', '3'],
    ['{{ eq "a" "a" }}', 'true'],
    ['a }} b {{ "c" }}', 'a }} b c'],
    ['{{ "}}" }}', '}}'],
  ];
  it.each(cases)('%s → %s', (tpl, want) => {
    expect(render(tpl, ctx())).toBe(want);
  });

  it('uuid is time-ordered: 8 hex digits of the Unix time, then 96 random bits', () => {
    const u = render('{{uuid}}', ctx({ random: Math.random }));
    expect(u).toMatch(/^6b074b3d-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(timeOrderedUUID(T, () => 0)).toBe('6b074b3d-0000-0000-0000-000000000000');
    expect(render('{{uuid}}', ctx({ random: Math.random }))).not.toBe(u);
  });

  it('timestamp, isotime and uuid derive from one InitTime, so they are stable across a run', () => {
    expect(render('{{timestamp}}', ctx())).toBe(render('{{timestamp}}', ctx()));
    expect(parseInt(render('{{uuid}}', ctx()).slice(0, 8), 16)).toBe(Number(render('{{timestamp}}', ctx())));
  });

  it('build renders placeholders at prepare and values at run time', () => {
    expect(render('id={{build `ID`}}', ctx({ build: { mode: 'placeholder', keys: ['ID'] } }))).toBe('id={{.ID}}');
    expect(render('id={{.ID}}', ctx({ data: { ID: 'abc' } }))).toBe('id=abc');
    expect(render('{{build `ID`}}', ctx({ build: { mode: 'values', values: { ID: 'c1' } } }))).toBe('c1');
    expect(render('{{build `Nope`}}', ctx({ build: { mode: 'values', values: {} } }))).toBe('<no value>');
  });

  it('env works only in variable defaults', () => {
    expect(render('{{env `HOME`}}', ctx({ variablesSection: true, env: { HOME: '/root' } }))).toBe('/root');
    expect(render('{{env `UNSET`}}', ctx({ variablesSection: true, env: {} }))).toBe('');
    expect(() => render('{{env `HOME`}}', ctx())).toThrow('env vars are not allowed here');
  });

  it('leaves context fields as written inside variable defaults', () => {
    expect(render('{{env `E`}}_{{ .PACKER_TEST_TEMP }}', ctx({ variablesSection: true, env: { E: 'test' } }))).toBe('test_{{ .PACKER_TEST_TEMP }}');
  });

  it('clean_resource_name exists only where a builder registers it', () => {
    expect(() => render('{{clean_resource_name `a b`}}', ctx())).toThrow('function "clean_resource_name" not defined');
    expect(render('{{ "a:b*c" | clean_resource_name }}', ctx({ extraFuncs: { clean_resource_name: (s) => cleanResourceName(String(s)) } }))).toBe('a-b-c');
    expect(cleanResourceName("ok()[] ./-'@_x")).toBe("ok()[] ./-'@_x");
  });
});

describe('render: errors with Go text/template wording', () => {
  const errs: Array<[string, Partial<InterpContext>, string]> = [
    ['{{nofunc}}', {}, 'template: root:1: function "nofunc" not defined'],
    ['{{ user `a` ', {}, 'template: root:1: unclosed action'],
    ['{{build `Nope`}}', { build: { mode: 'placeholder', keys: ['ID'] } }, 'template: root:1:2: executing "root" at <build `Nope`>: error calling build: loaded data, but couldnt find Nope in it.'],
    ['{{sed `a`}}', {}, 'template: root:1:2: executing "root" at <sed>: wrong number of args for sed: want 2 got 1'],
    ['{{sed `a` `b`}}', {}, 'error calling sed: template function `sed` is deprecated use `replace` or `replace_all` instead.'],
    ['{{split `a-b` `-` 5}}', {}, 'error calling split: the substring 5 was unavailable using the separator value, -, only 2 values were found'],
    ['{{isotime `a` `b`}}', {}, 'error calling isotime: too many values, 1 needed: [a b]'],
    ['{{ vault `a` `b` }}', {}, 'template: root:1:3: executing "root" at <vault `a` `b`>: error calling vault: Vault vars are only allowed in the variables section'],
    ['{{ consul_key `a` }}', { variablesSection: true }, 'not reachable from kiln'],
    ['{{ aws_secretsmanager `a` }}', {}, 'only allowed in the variables section'],
    ['{{build_name}}', { buildName: undefined }, 'build_name not available'],
    ['{{template_dir}}', { templateDir: undefined }, 'template path not available'],
    ['{{user `x`}}', { variablesSection: true }, 'variable not set: x'],
    ['{{if true}}x{{end}}', {}, 'unsupported action "if"'],
  ];
  it.each(errs)('%s', (tpl, over, msg) => {
    let caught: unknown;
    try {
      render(tpl, ctx(over));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TemplateError);
    expect((caught as Error).message).toContain(msg);
  });
});

describe('time layouts', () => {
  const d = new Date(Date.UTC(2024, 0, 5, 3, 7, 9, 40));
  it('translates Go reference-time layouts', () => {
    expect(formatGoTime(d, '2006-01-02T15:04:05Z07:00')).toBe('2024-01-05T03:07:09Z');
    expect(formatGoTime(d, '20060102150405')).toBe('20240105030709');
    expect(formatGoTime(d, 'Jan _2 03:04:05PM .000 .999')).toBe('Jan  5 03:07:09AM .040 .04');
    expect(formatGoTime(d, '1/2/06 3:4:5')).toBe('1/5/24 3:7:9');
  });
  it('strftime keeps unsupported verbs', () => {
    expect(strftime(d, '%Y-%m-%d_%H%M%S %q')).toBe('2024-01-05_030709 %q');
  });
});
