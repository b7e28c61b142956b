// The amazon-ebs builder's arguments, as Packer documents them, in both template languages: every
// documented argument is known with its type; an unknown one is an error at file:line:col in
// Packer's words (JSON: "unknown configuration key", HCL2: "An argument named X is not expected
// here"); wrong types and a block written as an argument (or the reverse) are reported; the required
// arguments are checked all at once. Pure: temp files, no AWS.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/core/diagnostics.js';
import { AMAZON_EBS_SCHEMA, PACKER_COMMON_SCHEMA, listBlockNames, type Schema, type SchemaEntry } from '../../src/image/config/amazon-ebs-schema.js';
import { prepareHcl } from '../../src/image/hcl/index.js';
import { prepareBuilds } from '../../src/image/prepare.js';
import { parsePackerTemplate } from '../../src/image/template.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-ebs-schema-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const BASE = { region: 'eu-west-1', source_ami: 'ami-12345678', instance_type: 't3.micro', ssh_username: 'admin', ami_name: 'web-1' };

/** `kiln validate` of an HCL2 template, its errors formatted as the CLI prints them. */
async function hcl(text: string, env: Record<string, string> = {}, file = 'a.pkr.hcl'): Promise<string[]> {
  const dir = join(root, `h${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), text);
  const r = await prepareHcl({ path: file, cwd: dir, env, vars: [], varFiles: [], initTime: 0, random: () => 0.5 });
  return r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d));
}

/** The same for a JSON template with one amazon-ebs builder. */
function json(builder: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  const p = parsePackerTemplate(JSON.stringify({ builders: [{ type: 'amazon-ebs', ...builder }] }, null, 2), 't.json', '/tpl');
  expect(p.diagnostics).toEqual([]);
  const r = prepareBuilds(p.template!, { cwd: '/tpl', initTime: 0, random: () => 0.5, fileExists: () => 'file', env });
  return r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d));
}

const source = (body: string) => `source "amazon-ebs" "a" {\n${body}\n}\nbuild {\n  sources = ["source.amazon-ebs.a"]\n}\n`;
const baseHcl = Object.entries(BASE)
  .map(([k, v]) => `  ${k} = "${v}"`)
  .join('\n');

// A well-typed sample of every argument, in each language.
const SAMPLE: Record<string, unknown> = { string: 'x', duration: '5m', bool: true, number: 3, list: ['x'], map: { k: 'v' }, bytes: [1, 2] };
function jsonSample(schema: Schema): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schema).map(([k, e]) => [k, sampleOf(e)]));
}
function sampleOf(e: SchemaEntry): unknown {
  if (typeof e === 'string') return SAMPLE[e];
  return 'block' in e ? jsonSample(e.block) : [jsonSample(e.blocks)];
}
function hclSample(schema: Schema, indent: string): string {
  return Object.entries(schema)
    .map(([k, e]) =>
      typeof e === 'string' ? `${indent}${k} = ${JSON.stringify(SAMPLE[e])}`.replace(/"k":/g, 'k = ') : `${indent}${k} {\n${hclSample('block' in e ? e.block : e.blocks, indent + '  ')}\n${indent}}`,
    )
    .join('\n');
}
const SCHEMA_COMPLAINT = /unknown configuration key|not expected here|expected type|expected a map|cannot parse|Inappropriate value|Duplicate/;

describe('every argument Packer documents for amazon-ebs is known, with its type', () => {
  it('has the documented arguments, blocks included', () => {
    expect(Object.keys(AMAZON_EBS_SCHEMA).length).toBeGreaterThan(150);
    for (const k of ['ami_regions', 'source_ami_filter', 'launch_block_device_mappings', 'run_tag', 'assume_role', 'metadata_options', 'ssh_bastion_host', 'winrm_use_ssl', 'spot_price', 'vpc_filter'])
      expect(AMAZON_EBS_SCHEMA, k).toHaveProperty(k);
  });
  it('a JSON builder that sets every one of them has no unknown-key or type error', () => {
    const errs = json({ ...jsonSample(AMAZON_EBS_SCHEMA), ...BASE });
    expect(errs.filter((e) => SCHEMA_COMPLAINT.test(e))).toEqual([]);
  });
  it('an HCL2 source that sets every one of them (blocks as blocks) has no schema error', async () => {
    const names = new Set(Object.keys(BASE));
    const rest = Object.fromEntries(Object.entries(AMAZON_EBS_SCHEMA).filter(([k]) => !names.has(k)));
    const errs = await hcl(source(`${baseHcl}\n${hclSample(rest, '  ')}`));
    expect(errs.filter((e) => /HCL_SCHEMA|HCL_EXPRESSION/.test(e) || SCHEMA_COMPLAINT.test(e))).toEqual([]);
  });
  it('a minimal build with the required arguments validates in both languages', async () => {
    expect(json(BASE)).toEqual([]);
    expect(await hcl(source(baseHcl))).toEqual([]);
  });
});

describe('JSON: unknown keys and wrong types in Packer 1.6.6’s words, each at file:line:col', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a misspelt argument', { ami_nmae: 'x' }, /^t\.json:\d+:\d+: error\[PACKER_CONFIG\]: Failed to prepare build: "amazon-ebs": unknown configuration key: '"ami_nmae"'/],
    ['an unknown key in a nested block', { source_ami_filter: { owners: ['self'], bogus: 1 } }, /^t\.json:\d+:\d+: .*unknown configuration key: '"source_ami_filter\.bogus"'/],
    ['an unknown key in aws_polling', { aws_polling: { delay_seconds: 1, x: 2 } }, /unknown configuration key: '"aws_polling\.x"'/],
    [
      'an unknown key in a block device mapping',
      { launch_block_device_mappings: [{ device_name: '/dev/xvda', volume_sise: 8 }] },
      /unknown configuration key: '"launch_block_device_mappings\[0\]\.volume_sise"'/,
    ],
    ['a string where a map belongs', { tags: 'x' }, /'tags' expected a map, got 'string'/],
    ['a bool that does not parse', { encrypt_boot: 'yes' }, /cannot parse 'encrypt_boot' as bool: strconv\.ParseBool: parsing "yes": invalid syntax/],
    ['an int that does not parse', { max_retries: 'x' }, /cannot parse 'max_retries' as int: strconv\.ParseInt: parsing "x": invalid syntax/],
    ['a list where a string belongs', { subnet_id: ['subnet-1'] }, /'subnet_id' expected type 'string', got unconvertible type '\[\]interface \{\}'/],
    ['a nested value of the wrong type', { source_ami_filter: { owners: ['self'], most_recent: 'often' } }, /cannot parse 'source_ami_filter\.most_recent' as bool/],
    ['a bad duration', { windows_password_timeout: 'soon' }, /error decoding 'windows_password_timeout'/],
    // Packer's own keys belong to the builder's top level; Packer 1.6.6 rejects them in a block.
    ["Packer's own key in a nested block", { aws_polling: { delay_seconds: 1, packer_build_name: 'x' } }, /unknown configuration key: '"aws_polling\.packer_build_name"'/],
    ["Packer's own key in a list of blocks", { run_tag: [{ key: 'a', value: 'b', packer_force: true }] }, /unknown configuration key: '"run_tag\[0\]\.packer_force"'/],
    [
      "Packer's own key in a block device mapping",
      { launch_block_device_mappings: [{ device_name: '/dev/xvda', packer_debug: true }] },
      /unknown configuration key: '"launch_block_device_mappings\[0\]\.packer_debug"'/,
    ],
  ];
  for (const [what, extra, want] of cases)
    it(what, () => {
      const errs = json({ ...BASE, ...extra });
      expect(errs.length, errs.join('\n')).toBe(1);
      expect(errs[0]).toMatch(want);
    });
  it('weak decoding as Packer does it: a lone string is a list, "true" a bool, "22" an int, one mapping a list of one', () => {
    expect(json({ ...BASE, ami_users: '123456789012', ena_support: 'true', ssh_port: '22', launch_block_device_mappings: { device_name: '/dev/xvda', volume_size: 8 } })).toEqual([]);
  });
  it("Packer's own keys are accepted at a builder's top level, docker's too (as Packer 1.6.6 accepts them)", () => {
    const own = jsonSample(PACKER_COMMON_SCHEMA);
    expect(Object.keys(own)).toContain('packer_build_group_name');
    expect(json({ ...BASE, ...own })).toEqual([]);
    const p = parsePackerTemplate(JSON.stringify({ builders: [{ type: 'docker', image: 'alpine', commit: true, ...own }] }), 'd.json', '/tpl');
    const r = prepareBuilds(p.template!, { cwd: '/tpl', initTime: 0, random: () => 0.5, fileExists: () => 'file', env: {} });
    expect(r.diagnostics.map((d) => formatDiagnostic(d))).toEqual([]);
  });
  it('a list of blocks written once in HCL2 is a list, as in JSON (every { blocks } entry of the schema)', async () => {
    expect(listBlockNames([AMAZON_EBS_SCHEMA])).toEqual(
      new Set([
        'tag',
        'snapshot_tag',
        'ami_block_device_mappings',
        'Statement',
        'spot_tag',
        'fleet_tag',
        'run_tag',
        'run_volume_tag',
        'license_specifications',
        'launch_block_device_mappings',
        'region_launch_templates',
      ]),
    );
    const dir = join(root, `h${n++}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'a.pkr.hcl'),
      source(`${baseHcl}\n  license_specifications {\n    license_configuration_request {\n      license_configuration_arn = "arn:x"\n    }\n  }\n  source_ami_filter {\n    owners = ["self"]\n  }`),
    );
    const r = await prepareHcl({ path: 'a.pkr.hcl', cwd: dir, env: {}, vars: [], varFiles: [], initTime: 0, random: () => 0.5 });
    const config = r.loaded.template?.builders[0]?.config;
    expect(config?.license_specifications).toEqual([{ license_configuration_request: { license_configuration_arn: 'arn:x' } }]);
    expect(config?.source_ami_filter).toEqual({ owners: ['self'] });
  });
  it('reports every mistake at once', () => {
    const errs = json({ ...BASE, ami_nmae: 'x', tags: 'x', encrypt_boot: 'yes', source_ami_filter: { owners: ['self'], bogus: 1 } });
    expect(errs).toHaveLength(4);
  });
});

describe('HCL2: unknown arguments, blocks and types in HCL’s words, each at file:line:col', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'a misspelt argument, with a suggestion',
      '  ami_nmae = "x"',
      /^a\.pkr\.hcl:7:3: error\[HCL_SCHEMA\]: Unsupported argument; An argument named "ami_nmae" is not expected here\. Did you mean "ami_name"\?$/,
    ],
    ['an argument nobody knows', '  colour = "blue"', /^a\.pkr\.hcl:7:3: error\[HCL_SCHEMA\]: Unsupported argument; An argument named "colour" is not expected here\.$/],
    ['an unknown block', '  widget {\n  }', /^a\.pkr\.hcl:7:3: error\[HCL_SCHEMA\]: Unsupported block type; Blocks of type "widget" are not expected here\.$/],
    [
      'a map argument written as a block',
      '  tags {\n    a = "b"\n  }',
      /^a\.pkr\.hcl:7:3: .*Blocks of type "tags" are not expected here\. Did you mean to define argument "tags"\? If so, use the equals sign to assign it a value\.$/,
    ],
    [
      'a block written as an argument',
      '  aws_polling = {\n    max_attempts = 3\n  }',
      /^a\.pkr\.hcl:7:3: .*An argument named "aws_polling" is not expected here\. Did you mean to define a block of type "aws_polling"\?$/,
    ],
    ['an unknown argument inside a nested block', '  source_ami_filter {\n    owners = ["self"]\n    bogus  = 1\n  }', /^a\.pkr\.hcl:9:5: .*An argument named "bogus" is not expected here\.$/],
    [
      'a single block given twice',
      '  aws_polling {\n  }\n  aws_polling {\n  }',
      /^a\.pkr\.hcl:9:3: error\[HCL_SCHEMA\]: Duplicate aws_polling block; Only one aws_polling block is allowed\. Another was defined at a\.pkr\.hcl:7,3-14\.$/,
    ],
    [
      'a string where a list belongs (no weak decoding in HCL2)',
      '  ami_users = "123456789012"',
      /^a\.pkr\.hcl:7:15: error\[HCL_SCHEMA\]: Incorrect attribute value type; Inappropriate value for attribute "ami_users": list of string required\.$/,
    ],
    ['a list where a string belongs', '  subnet_id = ["a"]', /^a\.pkr\.hcl:7:15: .*Inappropriate value for attribute "subnet_id": string required\.$/],
    ['a bool that does not convert', '  encrypt_boot = "yes"', /^a\.pkr\.hcl:7:18: .*Inappropriate value for attribute "encrypt_boot": a bool is required\.$/],
    ['a wrong type inside a nested block', '  aws_polling {\n    delay_seconds = "soon"\n  }', /^a\.pkr\.hcl:8:21: .*Inappropriate value for attribute "delay_seconds": a number is required\.$/],
    [
      'a dynamic block of an argument',
      '  dynamic "tags" {\n    for_each = {}\n    content {}\n  }',
      /^a\.pkr\.hcl:7:11: .*Blocks of type "tags" are not expected here\. Did you mean to define argument "tags"\?/,
    ],
  ];
  for (const [what, extra, want] of cases)
    it(what, async () => {
      const errs = await hcl(source(`${baseHcl}\n${extra}`));
      expect(errs.length, errs.join('\n')).toBe(1);
      expect(errs[0]).toMatch(want);
    });
  it('converts as cty does: numbers and bools to strings, "true" to a bool, "22" to a number', async () => {
    expect(await hcl(source(`${baseHcl}\n  ami_description = 42\n  ena_support = "true"\n  ssh_port = "22"`))).toEqual([]);
  });
  it('dynamic blocks of a list block are read with the nested schema', async () => {
    const ok = await hcl(source(`${baseHcl}\n  dynamic "run_tag" {\n    for_each = { a = "1" }\n    content {\n      key   = run_tag.key\n      value = run_tag.value\n    }\n  }`));
    expect(ok).toEqual([]);
    const bad = await hcl(source(`${baseHcl}\n  dynamic "run_tag" {\n    for_each = { a = "1" }\n    content {\n      kee = run_tag.key\n    }\n  }`));
    expect(bad).toEqual([expect.stringMatching(/^a\.pkr\.hcl:10:7: .*An argument named "kee" is not expected here\. Did you mean "key"\?$/)]);
  });
  it('the JSON variant (.pkr.json): nested objects stand for blocks, their unknown names are reported', async () => {
    const doc = {
      source: { 'amazon-ebs': { a: { ...BASE, source_ami_filter: { owners: ['self'], bogus: 1 }, colour: 'x' } } },
      build: { sources: ['source.amazon-ebs.a'] },
    };
    const errs = await hcl(JSON.stringify(doc, null, 2), {}, 'a.pkr.json');
    expect(errs.map((e) => e.replace(/^a\.pkr\.json:\d+:\d+: /, ''))).toEqual([
      'error[HCL_SCHEMA]: Unsupported argument; An argument named "colour" is not expected here.',
      'error[HCL_SCHEMA]: Unsupported argument; An argument named "bogus" is not expected here.',
    ]);
  });
  it('reports every mistake of a source at once, each once even when two builds use it', async () => {
    const text = `source "amazon-ebs" "a" {\n${baseHcl}\n  ami_nmae = "x"\n  tags {\n  }\n  ami_users = "1"\n}\nbuild {\n  sources = ["source.amazon-ebs.a"]\n}\nbuild {\n  name = "two"\n  sources = ["source.amazon-ebs.a"]\n}\n`;
    const errs = await hcl(text);
    expect(errs).toHaveLength(3);
  });
  it('checks a build block’s source overrides too', async () => {
    const text = `source "amazon-ebs" "a" {\n${baseHcl}\n}\nbuild {\n  source "source.amazon-ebs.a" {\n    name = "b"\n    ami_nmae = "x"\n  }\n}\n`;
    expect(await hcl(text)).toEqual([expect.stringMatching(/^a\.pkr\.hcl:11:5: .*An argument named "ami_nmae" is not expected here\. Did you mean "ami_name"\?$/)]);
  });
});

describe('required arguments, all at once', () => {
  const REQUIRED = [
    /region must be specified/,
    /ami_name must be specified/,
    /An ssh_username must be specified/,
    /A source_ami or source_ami_filter must be specified/,
    /either instance_type or spot_instance_types must be specified/,
  ];
  it('JSON: an empty amazon-ebs builder names every missing argument in one run', () => {
    const errs = json({});
    for (const r of REQUIRED)
      expect(
        errs.some((e) => r.test(e)),
        `${r}\n${errs.join('\n')}`,
      ).toBe(true);
  });
  it('HCL2: the same for an empty source block, located at the block', async () => {
    const errs = await hcl(source(''));
    for (const r of REQUIRED)
      expect(
        errs.some((e) => r.test(e) && e.startsWith('a.pkr.hcl:1:1:')),
        `${r}\n${errs.join('\n')}`,
      ).toBe(true);
  });
  it('the region may come from the environment, as the AWS SDK takes it', async () => {
    const { region: _, ...noRegion } = BASE;
    expect(json(noRegion).some((e) => /region must be specified/.test(e))).toBe(true);
    expect(json(noRegion, { AWS_REGION: 'eu-west-1' })).toEqual([]);
    expect(json(noRegion, { AWS_DEFAULT_REGION: 'eu-west-1' })).toEqual([]);
  });
  it('ssh_username only when the communicator is ssh', () => {
    const { ssh_username: _, ...noUser } = BASE;
    expect(json({ ...noUser, communicator: 'none' })).toEqual([]);
  });
  it('access_key and secret_key come together', () => {
    expect(json({ ...BASE, access_key: 'AKIDEXAMPLE' })).toEqual([expect.stringMatching(/`access_key` and `secret_key` must both be either set or not set\./)]);
  });
});
