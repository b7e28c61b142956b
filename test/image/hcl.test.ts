// The HCL2 template language as Packer defines it, read by kiln: blocks, expressions, functions,
// variable precedence and errors (each with file:line:col). Pure: temp files, no Docker.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/core/diagnostics.js';
import { prepareHcl } from '../../src/image/hcl/index.js';
import { loadHclTemplate, type LoadedHcl } from '../../src/image/hcl/load.js';
import type { Value } from '../../src/image/hcl/values.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-hcl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const INIT = Date.UTC(2026, 4, 6, 7, 8, 9);

/** Writes files into a fresh folder and loads `entry` (default: the folder). */
async function load(
  files: Record<string, string>,
  o: { entry?: string; vars?: Array<[string, string]>; varFiles?: string[]; env?: Record<string, string> } = {},
): Promise<LoadedHcl & { dir: string; errors: string[] }> {
  const dir = join(root, `t${n++}`);
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(files)) {
    mkdirSync(join(dir, k, '..'), { recursive: true });
    writeFileSync(join(dir, k), v);
  }
  const r = await loadHclTemplate({ path: o.entry ?? '.', cwd: dir, env: o.env ?? {}, vars: o.vars ?? [], varFiles: o.varFiles ?? [], initTime: INIT, random: () => 0.25 });
  return { ...r, dir, errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d)) };
}

const SOURCE = 'source "null" "x" {\n  communicator = "none"\n}\nbuild {\n  sources = ["source.null.x"]\n}\n';

/** The value of one expression, as a local. */
async function value(expr: string, extra = ''): Promise<Value | undefined> {
  const r = await load({ 'a.pkr.hcl': `${extra}\nlocals {\n  v = ${expr}\n}\n${SOURCE}` });
  if (r.errors.length) throw new Error(r.errors.join('\n'));
  return r.info.locals.find((l) => l.name === 'v')?.value;
}

describe('HCL2 expressions evaluate as in Packer', () => {
  const cases: Array<[string, string, unknown, string?]> = [
    ['a string template with an interpolation', '"a-${1 + 2}-b"', 'a-3-b'],
    ['"${x}" alone keeps the value\'s type', '"${[1, 2]}"', [1, 2]],
    ['escapes in quoted strings', '"tab\\tq\\"uote\\\\ \\u00e9 $${not} %%{not}"', 'tab\tq"uote\\ é ${not} %{not}'],
    ['a conditional', 'true ? "yes" : "no"', 'yes'],
    ['arithmetic and comparison, with HCL precedence', '1 + 2 * 3 == 7 && !false', true],
    ['string numbers convert for arithmetic', '"4" * 2', 8],
    ['a for expression over a list, with a condition', '[for s in ["a", "b", "c"] : upper(s) if s != "b"]', ['A', 'C']],
    ['a for expression building an object', '{for k, v in {a = 1, b = 2} : v => k}', { '1': 'a', '2': 'b' }],
    ['a for expression grouping duplicate keys', '{for s in ["ab", "ac", "b"] : substr(s, 0, 1) => s...}', { a: ['ab', 'ac'], b: ['b'] }],
    ['a full splat', '[{id = 1}, {id = 2}][*].id', [1, 2]],
    ['a legacy attribute splat', '[{id = 1}, {id = 2}].*.id', [1, 2]],
    ['a splat of null is empty', 'null[*]', []],
    ['index and attribute access', '{a = [10, {b = "deep"}]}.a[1].b', 'deep'],
    ['a legacy numeric index', '[5, 6].1', 6],
    ['%{if}/%{else} directives', '"%{ if 1 > 0 }big%{ else }small%{ endif }"', 'big'],
    ['%{for} directives with strip markers', '"%{ for x in [1, 2] ~} ${x},  %{~ endfor }"', '1,2,'],
    ['object keys in parentheses are evaluated', '{("k${1}") = "v"}', { k1: 'v' }],
    ['references to variables and locals', 'local.base', 'from-var', 'variable "x" {\n  default = "from-var"\n}\nlocals {\n  base = var.x\n}'],
    ['path.root is the template folder as given', 'path.root', '.'],
    ['packer.version is the HCL2 language kiln follows', 'packer.version', '1.9.4'],
  ];
  for (const [name, expr, want, extra] of cases) it(name, async () => expect(await value(expr, extra)).toEqual(want));

  it('heredocs keep their text; <<- removes the common indentation', async () => {
    expect(await value('<<EOT\n  one ${1}\n  two\nEOT\n')).toBe('  one 1\n  two\n');
    expect(await value('<<-EOT\n    one\n      two\n    EOT\n')).toBe('one\n  two\n');
  });
});

describe('HCL2 functions Packer documents work offline', () => {
  const cases: Array<[string, unknown]> = [
    ['abs(-3)', 3],
    ['ceil(1.2)', 2],
    ['floor(1.8)', 1],
    ['max(1, 5, 3)', 5],
    ['min(4, 2)', 2],
    ['parseint("ff", 16)', 255],
    ['pow(2, 10)', 1024],
    ['signum(-7)', -1],
    ['chomp("x\\n\\n")', 'x'],
    ['format("%s-%03d-%.1f-%t-%q", "a", 7, 1.25, true, "q")', 'a-007-1.2-true-"q"'],
    ['formatlist("%s=%s", ["a", "b"], "x")', ['a=x', 'b=x']],
    ['indent(2, "a\\nb")', 'a\n  b'],
    ['join(",", ["a", "b"], ["c"])', 'a,b,c'],
    ['lower("AbC")', 'abc'],
    ['upper("abc")', 'ABC'],
    ['title("hello world")', 'Hello World'],
    ['replace("a-b-c", "-", "+")', 'a+b+c'],
    ['replace("a1b22", "/[0-9]+/", "#")', 'a#b#'],
    ['regex_replace("2026-05-06T07:08:09Z", "[- TZ:]", "")', '20260506070809'],
    ['regex("(\\\\d+)-(\\\\d+)", "10-20")', ['10', '20']],
    ['regex("(?P<y>\\\\d{4})", "in 2026")', { y: '2026' }],
    ['regexall("\\\\d", "a1b2")', ['1', '2']],
    ['split(",", "a,b")', ['a', 'b']],
    ['strrev("abc")', 'cba'],
    ['substr("hello", 1, 3)', 'ell'],
    ['trim("--x--", "-")', 'x'],
    ['trimprefix("prefix-x", "prefix-")', 'x'],
    ['trimsuffix("x.txt", ".txt")', 'x'],
    ['trimspace("  x ")', 'x'],
    ['startswith("abc", "ab")', true],
    ['endswith("abc", "bc")', true],
    ['strcontains("abc", "b")', true],
    ['chunklist([1, 2, 3], 2)', [[1, 2], [3]]],
    ['coalesce("", null, "x")', 'x'],
    ['coalescelist([], [1])', [1]],
    ['compact(["a", "", null, "b"])', ['a', 'b']],
    ['concat([1], [2, 3])', [1, 2, 3]],
    ['contains(["a"], "a")', true],
    ['distinct([1, 1, 2])', [1, 2]],
    ['element(["a", "b"], 3)', 'b'],
    ['flatten([[1], [2, [3]]])', [1, 2, 3]],
    ['index(["a", "b"], "b")', 1],
    ['keys({b = 1, a = 2})', ['a', 'b']],
    ['values({b = 1, a = 2})', [2, 1]],
    ['length("héllo")', 5],
    ['lookup({a = 1}, "b", "dflt")', 'dflt'],
    ['merge({a = 1}, {b = 2}, {a = 3})', { a: 3, b: 2 }],
    ['one([7])', 7],
    ['range(3)', [0, 1, 2]],
    ['reverse([1, 2])', [2, 1]],
    ['setintersection([1, 2], [2, 3])', [2]],
    [
      'setproduct(["a"], [1, 2])',
      [
        ['a', 1],
        ['a', 2],
      ],
    ],
    ['setunion([1], [1, 2])', [1, 2]],
    ['slice([1, 2, 3], 1, 3)', [2, 3]],
    ['sort(["b", "a"])', ['a', 'b']],
    ['sum([1, 2, 3])', 6],
    ['transpose({a = ["1", "2"], b = ["2"]})', { '1': ['a'], '2': ['a', 'b'] }],
    ['zipmap(["a", "b"], [1, 2])', { a: 1, b: 2 }],
    ['alltrue([true, "true"])', true],
    ['anytrue([false])', false],
    ['base64encode("hi")', 'aGk='],
    ['base64decode("aGk=")', 'hi'],
    ['csvdecode("a,b\\n1,2\\n")', [{ a: '1', b: '2' }]],
    ['jsonencode({b = [1, true], a = "x"})', '{"a":"x","b":[1,true]}'],
    ['jsondecode("{\\"a\\": [1]}")', { a: [1] }],
    ['urlencode("a b&c")', 'a+b%26c'],
    ['yamldecode("a: [1, 2]")', { a: [1, 2] }],
    ['yamlencode({a = 1})', 'a: 1\n'],
    ['md5("x")', '9dd4e461268c8034f5c8564e155c67a6'],
    ['sha1("x")', '11f6ad8ec52a2984abaafd7c3b516503785c2072'],
    ['sha256("x")', '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'],
    ['length(sha512("x"))', 128],
    ['uuidv5("dns", "example.com")', 'cfbff0d1-9375-5685-968c-48ce8b15ae17'],
    ['length(uuidv4())', 36],
    ['timestamp()', '2026-05-06T07:08:09Z'],
    ['formatdate("YYYY-MM-DD hh:mm:ss ZZZ EEE", "2026-05-06T07:08:09Z")', '2026-05-06 07:08:09 UTC Wed'],
    ['timeadd("2026-05-06T07:08:09Z", "1h30m")', '2026-05-06T08:38:09Z'],
    ['legacy_isotime("2006-01-02")', '2026-05-06'],
    ['legacy_strftime("%Y%m%d")', '20260506'],
    ['cidrhost("10.0.0.0/24", 5)', '10.0.0.5'],
    ['cidrnetmask("10.0.0.0/20")', '255.255.240.0'],
    ['cidrsubnet("10.0.0.0/16", 8, 2)', '10.0.2.0/24'],
    ['cidrsubnets("10.0.0.0/16", 8, 8)', ['10.0.0.0/24', '10.0.1.0/24']],
    ['cidrsubnet("fd00::/56", 8, 1)', 'fd00:0:0:1::/64'],
    ['tobool("true")', true],
    ['tonumber("12")', 12],
    ['tostring(12)', '12'],
    ['tolist(["a"])', ['a']],
    ['toset(["b", "a", "b"])', ['a', 'b']],
    ['tomap({a = 1})', { a: 1 }],
    ['try(local.nope, "fallback")', 'fallback'],
    ['can(local.nope)', false],
    ['abspath("x")', 'ABS'],
    ['basename("/a/b.txt")', 'b.txt'],
    ['dirname("/a/b.txt")', '/a'],
    ['file("data.txt")', 'file data\n'],
    ['fileexists("data.txt")', true],
    ['fileset(".", "*.txt")', ['data.txt']],
    ['templatefile("t.tpl", {name = "kiln", items = ["a", "b"]})', 'hi kiln: a;b;\n'],
    ['filesha256("data.txt")', 'd8b4d5a0cd6bd1b0c25b37bec99a8a68d57dc3e7a0d6bbee7c0e0d85b7bb2c1e'],
  ];
  for (const [expr, want] of cases) {
    it(expr, async () => {
      const r = await load({
        'a.pkr.hcl': `locals {\n  v = ${expr}\n}\n${SOURCE}`,
        'data.txt': 'file data\n',
        't.tpl': 'hi ${name}: %{ for i in items }${i};%{ endfor }\n',
      });
      expect(r.errors).toEqual([]);
      const got = r.info.locals.find((l) => l.name === 'v')?.value;
      if (want === 'ABS') expect(got).toBe(join(r.dir, 'x'));
      else if (expr.startsWith('filesha256')) expect(got).toMatch(/^[0-9a-f]{64}$/);
      else expect(got).toEqual(want);
    });
  }

  it('bcrypt hashes with a random salt, as Packer ($2a$, cost 10)', async () => {
    expect(await value('bcrypt("secret")')).toMatch(/^\$2a\$10\$.{53}$/);
  });
  it('env() works in variable defaults only', async () => {
    const r = await load({ 'a.pkr.hcl': `variable "home" {\n  default = env("KILN_X")\n}\nlocals {\n  v = var.home\n}\n${SOURCE}` }, { env: { KILN_X: 'there' } });
    expect(r.info.locals[0]?.value).toBe('there');
    const bad = await load({ 'a.pkr.hcl': `locals {\n  v = env("KILN_X")\n}\n${SOURCE}` });
    expect(bad.errors).toEqual([expect.stringMatching(/a\.pkr\.hcl:2:7: error\[HCL_EXPRESSION\]: Call to unknown function; There is no function named "env"/)]);
  });
});

describe("HCL2 blocks have Packer's meaning", () => {
  it('variable blocks: type constraints convert values, sensitive values are masked', async () => {
    const r = await load({
      'a.pkr.hcl': `variable "n" {\n  type    = number\n  default = "5"\n}\nvariable "l" {\n  type    = list(string)\n  default = [1, true]\n}\nvariable "s" {\n  type      = string\n  default   = "hunter2"\n  sensitive = true\n}\n${SOURCE}`,
    });
    expect(r.errors).toEqual([]);
    expect(r.info.variables.map((v) => [v.name, v.value])).toEqual([
      ['n', 5],
      ['l', ['1', 'true']],
      ['s', 'hunter2'],
    ]);
    expect(r.mask('password is hunter2')).toBe('password is <sensitive>');
  });

  it('locals, local blocks and data sources resolve in dependency order', async () => {
    const r = await load({
      'a.pkr.hcl': `locals {\n  c = "\${local.b}-c"\n  b = "\${data.null.d.output}-b"\n}\nlocal "secret" {\n  expression = "\${local.c}!"\n  sensitive  = true\n}\ndata "null" "d" {\n  input = "a"\n}\n${SOURCE}`,
    });
    expect(r.errors).toEqual([]);
    expect(Object.fromEntries(r.info.locals.map((l) => [l.name, l.value]))).toEqual({ b: 'a-b', c: 'a-b-c', secret: 'a-b-c!' });
    expect(r.mask('x a-b-c! y')).toBe('x <sensitive> y');
  });

  it('a cycle between locals is an error naming it', async () => {
    const r = await load({ 'a.pkr.hcl': `locals {\n  a = local.b\n  b = local.a\n}\n${SOURCE}` });
    expect(r.errors.join('\n')).toMatch(/Cycle in local and data definitions; local\.(a|b) -> local\.(b|a) -> local\.(a|b)/);
  });

  it('data "amazon-ami" is validated now and evaluated on its target later', async () => {
    const r = await load({
      'a.pkr.hcl': `data "amazon-ami" "ubuntu" {\n  filters = {\n    name = "ubuntu/*"\n  }\n  owners      = ["099720109477"]\n  most_recent = true\n  region      = "eu-west-1"\n}\nlocals {\n  v = data.amazon-ami.ubuntu.id\n}\n${SOURCE}`,
    });
    expect(r.errors).toEqual([]);
    expect(String(r.info.locals[0]?.value)).toBe('(known after data.amazon-ami.ubuntu.id)');
    const bad = await load({ 'a.pkr.hcl': `data "amazon-ami" "u" {\n  owners = ["1"]\n  bogus = 1\n}\n${SOURCE}` });
    expect(bad.errors).toEqual([expect.stringMatching(/a\.pkr\.hcl:3:3: error\[HCL_SCHEMA\]: Unsupported argument; An argument named "bogus" is not expected here/)]);
  });

  it('sources become builds named TYPE.NAME (BUILD.TYPE.NAME in a named build), running as NAME', async () => {
    const r = await load({
      'a.pkr.hcl': `source "null" "a" {\n  communicator = "none"\n}\nbuild {\n  name    = "b"\n  sources = ["source.null.a"]\n  source "null.a" {\n    name = "renamed"\n  }\n}\n`,
    });
    expect(r.errors).toEqual([]);
    expect(r.template!.builders.map((b) => [b.name, b.packerBuildName])).toEqual([
      ['b.null.a', 'a'],
      ['b.null.renamed', 'renamed'],
    ]);
  });

  it('provisioners: only/except on TYPE.NAME, override per source, pause_before/max_retries/timeout, evaluated per source', async () => {
    const r = await load({
      'a.pkr.hcl': `source "null" "a" {\n  communicator = "none"\n}\nsource "null" "b" {\n  communicator = "none"\n}\nbuild {\n  sources = ["source.null.a", "source.null.b"]\n  provisioner "shell-local" {\n    only         = ["null.a"]\n    inline       = ["echo \${source.name}"]\n    pause_before = "1s"\n    max_retries  = 2\n    timeout      = "5m"\n  }\n  provisioner "shell-local" {\n    except   = ["null.a"]\n    inline   = ["echo \${source.name} \${build.ID}"]\n    override = {\n      "null.b" = { inline = ["echo overridden"] }\n    }\n  }\n}\n`,
    });
    expect(r.errors).toEqual([]);
    const [p1, p2] = r.template!.provisioners;
    expect(p1).toMatchObject({ only: ['null.a'], pauseBefore: '1s', maxRetries: 2, timeout: '5m', config: { inline: ['echo a'] } });
    expect(p2).toMatchObject({ only: ['null.b'], config: { inline: ['echo b {{.ID}}'] }, override: { 'null.b': { inline: ['echo overridden'] } } });
  });

  it('post-processor blocks are chains of one, post-processors blocks chains of several', async () => {
    const r = await load({
      'a.pkr.hcl': `source "null" "a" {\n  communicator = "none"\n}\nbuild {\n  sources = ["source.null.a"]\n  post-processor "manifest" {\n    output = "m.json"\n  }\n  post-processors {\n    post-processor "shell-local" {\n      name   = "first"\n      inline = ["true"]\n      keep_input_artifact = true\n    }\n    post-processor "manifest" {}\n  }\n}\n`,
    });
    expect(r.errors).toEqual([]);
    expect(r.template!.postProcessors.map((ch) => ch.map((p) => p.name))).toEqual([['manifest'], ['first', 'manifest']]);
    expect(r.template!.postProcessors[1]![0]!.keepInputArtifact).toBe(true);
  });

  it('dynamic blocks expand in source bodies and in builds', async () => {
    const r = await load({
      'a.pkr.hcl': `locals {\n  tags = { a = "1", b = "2" }\n}\nsource "null" "x" {\n  communicator = "none"\n  dynamic "tag" {\n    for_each = local.tags\n    content {\n      key   = tag.key\n      value = tag.value\n    }\n  }\n}\nbuild {\n  sources = ["source.null.x"]\n  dynamic "provisioner" {\n    for_each = ["one", "two"]\n    labels   = ["shell-local"]\n    content {\n      inline = ["echo \${provisioner.value}"]\n    }\n  }\n}\n`,
    });
    expect(r.errors).toEqual([]);
    expect(r.template!.builders[0]!.config['tag']).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect(r.template!.provisioners.map((p) => p.config['inline'])).toEqual([['echo one'], ['echo two']]);
  });

  it('packer { required_version } is checked; required_plugins only says nothing needs installing', async () => {
    const old = await load({ 'a.pkr.hcl': `packer {\n  required_version = ">= 99.0"\n}\n${SOURCE}` });
    expect(old.errors).toEqual([expect.stringMatching(/a\.pkr\.hcl:2:22: error\[HCL_VERSION\]: Unsupported Packer Core version/)]);
    const plugins = await load({
      'a.pkr.hcl': `packer {\n  required_version = ">= 1.7.0, < 2"\n  required_plugins {\n    docker = {\n      source  = "github.com/hashicorp/docker"\n      version = ">= 1.0.0"\n    }\n  }\n}\n${SOURCE}`,
    });
    expect(plugins.errors).toEqual([]);
    expect(plugins.diagnostics.map((d) => formatDiagnostic(d))).toEqual([expect.stringMatching(/a\.pkr\.hcl:4:5: warning\[HCL_PLUGIN\]: Plugin "docker" is built into kiln; .*nothing to install/)]);
  });

  it('a folder loads every *.pkr.hcl and *.pkr.json in it, and its *.auto.pkrvars.hcl', async () => {
    const r = await load({
      'vars.pkr.hcl': 'variable "who" {\n  type = string\n}\n',
      'src.pkr.json': '{"source": {"null": {"x": {"communicator": "none"}}}}',
      'build.pkr.hcl': 'build {\n  sources = ["source.null.x"]\n  provisioner "shell-local" {\n    inline = ["echo ${var.who}"]\n  }\n}\n',
      'me.auto.pkrvars.hcl': 'who = "auto"\n',
      'sub/ignored.pkr.hcl': 'this is not read',
    });
    expect(r.errors).toEqual([]);
    expect(r.template!.provisioners[0]!.config['inline']).toEqual(['echo auto']);
  });
});

describe("variable values follow Packer's precedence", () => {
  const files = {
    'a.pkr.hcl': `variable "v" {\n  type    = string\n  default = "default"\n}\nlocals {\n  got = var.v\n}\n${SOURCE}`,
    'one.pkrvars.hcl': 'v = "file-one"\n',
    'two.pkrvars.json': '{"v": "file-two"}',
  };
  const got = async (o: Parameters<typeof load>[1], extra: Record<string, string> = {}) => (await load({ ...files, ...extra }, o)).info.locals[0]?.value;
  it('the default when nothing is set', async () => expect(await got({})).toBe('default'));
  it('PKR_VAR_ beats the default', async () => expect(await got({ env: { PKR_VAR_v: 'env' } })).toBe('env'));
  it('*.auto.pkrvars.hcl beats PKR_VAR_', async () => expect(await got({ env: { PKR_VAR_v: 'env' } }, { 'x.auto.pkrvars.hcl': 'v = "auto"\n' })).toBe('auto'));
  it('-var-file beats auto var files, and the later -var-file wins', async () => {
    expect(await got({ varFiles: ['one.pkrvars.hcl'] }, { 'x.auto.pkrvars.hcl': 'v = "auto"\n' })).toBe('file-one');
    expect(await got({ varFiles: ['one.pkrvars.hcl', 'two.pkrvars.json'] })).toBe('file-two');
    expect(await got({ varFiles: ['two.pkrvars.json', 'one.pkrvars.hcl'] })).toBe('file-one');
  });
  it('-var beats every -var-file whatever the order, and the last -var wins', async () => {
    expect(await got({ varFiles: ['one.pkrvars.hcl'], vars: [['v', 'cli']] })).toBe('cli');
    expect(
      await got({
        vars: [
          ['v', 'first'],
          ['v', 'last'],
        ],
      }),
    ).toBe('last');
  });
  it('-var values of complex types are HCL expressions', async () => {
    const r = await load({ 'a.pkr.hcl': `variable "m" {\n  type = map(number)\n}\nlocals {\n  got = var.m\n}\n${SOURCE}` }, { vars: [['m', '{ a = 1, b = "2" }']] });
    expect(r.info.locals[0]?.value).toEqual({ a: 1, b: 2 });
  });
});

describe("mistakes are reported like Packer's, all at once, each at file:line:col", () => {
  const cases: Array<[string, string, RegExp[], Array<[string, string]>?]> = [
    ['an unknown variable', `locals {\n  a = var.nope\n}\n${SOURCE}`, [/a\.pkr\.hcl:2:7: error\[HCL_EXPRESSION\]: Unsupported attribute; This object does not have an attribute named "nope"/]],
    [
      'a value of the wrong type',
      `variable "n" {\n  type    = number\n  default = "five"\n}\n${SOURCE}`,
      [/a\.pkr\.hcl:3:13: error\[HCL_VARIABLES\]: Invalid default value for variable; This default value is not compatible with the variable's type constraint: a number is required/],
    ],
    ['an unset variable', `variable "n" {\n  type = string\n}\n${SOURCE}`, [/a\.pkr\.hcl:1:10: error\[HCL_VARIABLES\]: Unset variable "n"; A used variable must be set or have a default value/]],
    ['a missing required argument', `local "x" {\n  sensitive = true\n}\n${SOURCE}`, [/a\.pkr\.hcl:1:1: error\[HCL_SCHEMA\]: Missing required argument; The argument "expression" is required/]],
    ['an unsupported block', `potato {\n}\n${SOURCE}`, [/a\.pkr\.hcl:1:1: error\[HCL_SCHEMA\]: Unsupported block type; Blocks of type "potato" are not expected here/]],
    [
      'a failed validation rule',
      `variable "ami" {\n  default = "img-1"\n  validation {\n    condition     = substr(var.ami, 0, 4) == "ami-"\n    error_message = "The ami value must start with \\"ami-\\"."\n  }\n}\n${SOURCE}`,
      [/a\.pkr\.hcl:1:10: error\[HCL_VARIABLES\]: Invalid value for variable; The ami value must start with "ami-"\.\n\nThis was checked by the validation rule at a\.pkr\.hcl:4,21-52/],
    ],
    ['an undeclared -var', SOURCE, [/error\[HCL_VARIABLES\]: Undefined -var variable; A "zz" variable was passed in but was not found in known variables/], [['zz', '1']]],
    ['an unknown function', `locals {\n  a = nofunc(1)\n}\n${SOURCE}`, [/a\.pkr\.hcl:2:7: error\[HCL_EXPRESSION\]: Call to unknown function; There is no function named "nofunc"/]],
    [
      'a function argument of the wrong type',
      `locals {\n  a = upper([1])\n}\n${SOURCE}`,
      [/a\.pkr\.hcl:2:13: error\[HCL_EXPRESSION\]: Invalid function argument; Invalid value for "str" parameter: string required/],
    ],
    ['a builder kiln does not have', 'source "virtualbox-iso" "v" {\n}\n', [/a\.pkr\.hcl:1:8: error\[HCL_PLUGIN\]: Unknown source type virtualbox-iso/]],
    [
      'an unknown config key, in HCL2 words',
      'source "docker" "d" {\n  image  = "x"\n  commit = true\n  bogus  = 1\n}\nbuild {\n  sources = ["source.docker.d"]\n}\n',
      [/a\.pkr\.hcl:4:3: error\[PACKER_CONFIG\]: Failed to prepare build: "docker\.d": Unsupported argument; An argument named "bogus" is not expected here\. \(at source\.docker\.d\.bogus\)/],
    ],
    [
      'an unknown nested block inside a source, as a block',
      'source "docker" "d" {\n  image  = "x"\n  commit = true\n  weird {\n  }\n}\nbuild {\n  sources = ["source.docker.d"]\n}\n',
      [/a\.pkr\.hcl:4:3: error\[PACKER_CONFIG\]: Failed to prepare build: "docker\.d": Unsupported block type; Blocks of type "weird" are not expected here\. \(at source\.docker\.d\.weird\)/],
    ],
    [
      'an unknown argument inside a nested block (launch_block_device_mappings)',
      'source "amazon-ebs" "a" {\n  region        = "eu-west-1"\n  source_ami    = "ami-12345678"\n  instance_type = "t2.micro"\n  ssh_username  = "admin"\n  ami_name      = "xyz"\n  launch_block_device_mappings {\n    device_name = "/dev/xvda"\n    volume_sise = 10\n  }\n}\nbuild {\n  sources = ["source.amazon-ebs.a"]\n}\n',
      [/a\.pkr\.hcl:9:5: error\[HCL_SCHEMA\]: Unsupported argument; An argument named "volume_sise" is not expected here\. Did you mean "volume_size"\?/],
    ],
    [
      "a syntax error, in HashiCorp's words",
      'locals {\n  a = "open\n}\n',
      [/a\.pkr\.hcl:2:12: error\[HCL_SYNTAX\]: Invalid multi-line string; Quoted strings may not be split over multiple lines/, /a\.pkr\.hcl:2:12: error\[HCL_SYNTAX\]: Unterminated template string/],
    ],
    ['two arguments on one line', 'locals {\n  a = 1 b = 2\n}\n', [/a\.pkr\.hcl:2:\d+: error\[HCL_SYNTAX\]: /]],
    ['a duplicate argument', 'locals {\n  a = 1\n  a = 2\n}\n', [/a\.pkr\.hcl:3:3: error\[HCL_SYNTAX\]: Attribute redefined; The argument "a" was already set at a\.pkr\.hcl:2,3-4/]],
  ];
  for (const [name, text, want, vars] of cases) {
    it(name, async () => {
      const dir = join(root, `e${n++}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'a.pkr.hcl'), text);
      const r = await prepareHcl({ path: 'a.pkr.hcl', cwd: dir, env: {}, vars: vars ?? [], fileExists: () => 'file' });
      const lines = r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d));
      for (const w of want) expect(lines.join('\n')).toMatch(w);
    });
  }

  it('reports every mistake of a template in one run', async () => {
    const r = await load({ 'a.pkr.hcl': `locals {\n  a = var.nope\n  b = upper()\n}\npotato {}\nvariable "n" {\n  type = strin\n}\n${SOURCE}` });
    expect(r.errors.length).toBeGreaterThanOrEqual(4);
    expect(r.errors.every((e) => /^a\.pkr\.hcl:\d+:\d+: error\[/.test(e))).toBe(true);
  });
});
