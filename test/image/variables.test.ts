// User variables: precedence exactly as the Packer 1.6.6 binary behaves (reference §2), variables
// referring to variables, env defaults, var files, required variables, sensitive masking.
import { describe, expect, it } from 'vitest';
import { parsePackerTemplate } from '../../src/image/template.js';
import { parseVarFile, resolveVariables } from '../../src/image/variables.js';

const T0 = Date.UTC(2026, 0, 1);
const tpl = (vars: Record<string, string | null>, sensitive: string[] = []) =>
  parsePackerTemplate(JSON.stringify({ variables: vars, 'sensitive-variables': sensitive, builders: [{ type: 'null' }] }), 't.json', '/tpl').template!;
const resolve = (t: ReturnType<typeof tpl>, o: Parameters<typeof resolveVariables>[1] | object = {}) => resolveVariables(t, { initTime: T0, ...o });
const vf = (file: string, obj: unknown) => ({ file, text: JSON.stringify(obj) });

describe('precedence (as measured on the binary)', () => {
  const t = tpl({ a: 'default', b: 'default' });
  it('command line beats defaults', () => {
    expect(resolve(t, { vars: [['a', 'cli']] }).variables!.values).toEqual({ a: 'cli', b: 'default' });
  });
  it('every -var beats every -var-file, whatever the order on the command line', () => {
    // The CLI keeps -var and -var-file separately, so "-var a=cli -var-file=v1" and "-var-file=v1 -var a=cli" are the same input.
    expect(resolve(t, { vars: [['a', 'cli']], varFiles: [vf('v1.json', { a: 'file' })] }).variables!.values.a).toBe('cli');
  });
  it('the later var file wins; the last -var wins', () => {
    expect(resolve(t, { varFiles: [vf('v1.json', { a: 'one', b: 'one' }), vf('v2.json', { a: 'two' })] }).variables!.values).toEqual({ a: 'two', b: 'one' });
    expect(
      resolve(t, {
        vars: [
          ['a', 'x'],
          ['a', 'y'],
        ],
      }).variables!.values.a,
    ).toBe('y');
  });
  it('accepts an undeclared -var, readable through user', () => {
    expect(resolve(t, { vars: [['extra', 'E']] }).variables!.values.extra).toBe('E');
  });
});

describe('required variables', () => {
  const t = tpl({ need: null, other: 'x' });
  it('fail when unset, at the variable', () => {
    const r = resolve(t);
    expect(r.variables).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.message, d.path, d.range?.start.line])).toEqual([['required variable not set: need', 'variables.need', 1]]);
  });
  it('may be set by a var file or -var', () => {
    expect(resolve(t, { varFiles: [vf('v.json', { need: 'f' })] }).variables!.values.need).toBe('f');
    expect(resolve(t, { vars: [['need', 'c']] }).variables!.values.need).toBe('c');
  });
});

describe('interpolation of variables', () => {
  it('resolves variables that refer to variables (corpus build-variables-interpolate)', () => {
    const t = tpl({ foo: 'bar', bar: '{{user `foo`}}', baz: '{{user `bar`}}baz', bang: 'bang{{user `baz`}}' });
    expect(resolve(t).variables!.values).toEqual({ foo: 'bar', bar: 'bar', baz: 'barbaz', bang: 'bangbarbaz' });
  });
  it('interpolates -var values too (corpus build-basic-interpolated)', () => {
    const t = tpl({});
    expect(
      resolve(t, {
        vars: [
          ['name', 'gotta-{{user `my_var`}}'],
          ['my_var', 'interpolate-em-all'],
        ],
      }).variables!.values.name,
    ).toBe('gotta-interpolate-em-all');
  });
  it('reads env in defaults and leaves context fields for later (corpus build-ignore-template-variable)', () => {
    const t = tpl({ var: '{{env `PACKER_TEST_ENV`}}_{{ .PACKER_TEST_TEMP }}', http_ip: '{{ .HTTPIP }}', array_var: 'us-west-1,us-west-2' });
    expect(resolve(t, { env: { PACKER_TEST_ENV: 'test' } }).variables!.values).toEqual({ var: 'test_{{ .PACKER_TEST_TEMP }}', http_ip: '{{ .HTTPIP }}', array_var: 'us-west-1,us-west-2' });
  });
  it('resolves the corpus complex-recursed-env-user-var-file case', () => {
    const t = tpl({
      env_1: '{{ env `INTERPOLATE_TEST_ENV_1` }}',
      env_2: '{{ env `INTERPOLATE_TEST_ENV_2` }}',
      env_3: '{{ env `INTERPOLATE_TEST_ENV_3` }}',
      env_4: '{{ env `INTERPOLATE_TEST_ENV_4` }}',
    });
    const r = resolve(t, {
      env: { INTERPOLATE_TEST_ENV_1: 'bulbasaur', INTERPOLATE_TEST_ENV_2: '5', INTERPOLATE_TEST_ENV_3: '/path/to/nowhere', INTERPOLATE_TEST_ENV_4: 'bananas' },
      vars: [
        ['final_var', '{{user `env_1`}}/{{user `env_2`}}/{{user `env_4`}}{{user `env_3`}}-{{user `partyparrot`}}/{{user `env_1`}}-{{user `env_2`}}{{user `env_3`}}-{{user `partyparrot`}}.vmx'],
        ['partyparrot', 'partyparrot/vmware'],
      ],
    });
    expect(r.variables!.values.final_var).toBe('bulbasaur/5/bananas/path/to/nowhere-partyparrot/vmware/bulbasaur-5/path/to/nowhere-partyparrot/vmware.vmx');
  });
  it('a reference to an undeclared variable is an error (corpus build-variables-interpolate2)', () => {
    const r = resolve(tpl({ bar: '{{user `foo`}}', baz: '{{user `bar`}}baz' }));
    // Packer 1.6.6 printed the same: Failed to interpolate "baz": "{{user `bar`}}baz"; error: …variable not set: bar
    expect(r.diagnostics[0]!.message).toMatch(/^Failed to interpolate "baz": "\{\{user `bar`\}\}baz"; error: .*variable not set: bar/);
  });
  it('uses the one InitTime for timestamp', () => {
    expect(resolve(tpl({ ts: '{{timestamp}}' })).variables!.values.ts).toBe(String(T0 / 1000));
  });
});

describe('var files', () => {
  it('must be a flat JSON object of strings (messages as measured)', () => {
    expect(parseVarFile('v.json', '{"a": 5}').diagnostic!.message).toBe("Error reading variables in 'v.json': json: cannot unmarshal number into Go value of type string");
    expect(parseVarFile('v.json', '[1]').diagnostic!.message).toBe("Error reading variables in 'v.json': json: cannot unmarshal array into Go value of type kvflag.FlagJSON");
    expect(parseVarFile('v.json', '{"a": {"b": "c"}}').diagnostic!.message).toContain('cannot unmarshal object into Go value of type string');
    expect(parseVarFile('v.json', '{"a": "x",').diagnostic!.message).toBe("Error reading variables in 'v.json': unexpected EOF");
    expect(parseVarFile('v.json', '{"a": "x"}').values).toEqual({ a: 'x' });
  });
});

describe('sensitive variables', () => {
  it('masks listed values and values derived from them (corpus sensitive-variables)', () => {
    const t = tpl({ foo: 'bar_extra_sensitive_probably_a_password', derived: 'pre-{{user `foo`}}', plain: 'hello' }, ['foo']);
    const v = resolve(t).variables!;
    expect([...v.sensitive].sort()).toEqual(['derived', 'foo']);
    expect(v.mask('the foo jumped over the bar_extra_sensitive_probably_a_password')).toBe('the foo jumped over the <sensitive>');
    expect(v.mask('x pre-bar_extra_sensitive_probably_a_password y hello')).toBe('x <sensitive> y hello');
  });
  it('masks a sensitive value given on the command line', () => {
    const v = resolve(tpl({ secret: '' }, ['secret']), { vars: [['secret', 's3cr3t']] }).variables!;
    expect(v.mask('token=s3cr3t;s3cr3t')).toBe('token=<sensitive>;<sensitive>');
    expect(resolve(tpl({ secret: '' }, ['secret'])).variables!.mask('nothing to hide')).toBe('nothing to hide');
  });
});
