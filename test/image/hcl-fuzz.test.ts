// Random HCL input never crashes the HCL2 loader: whatever the text, the result is diagnostics (each
// with a file:line:col) or a template, never an exception or a stack trace.
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareHcl } from '../../src/image/hcl/index.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-hcl-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const TOKENS = [
  'variable',
  'locals',
  'local',
  'source',
  'build',
  'data',
  'packer',
  'provisioner',
  'post-processor',
  'post-processors',
  'dynamic',
  'content',
  '"docker"',
  '"null"',
  '"x"',
  '"source.null.x"',
  '"shell-local"',
  'sources',
  'inline',
  'type',
  'default',
  'string',
  'list(string)',
  'map(number)',
  'var.x',
  'local.y',
  'source.name',
  'build.ID',
  'path.root',
  'data.null.d.output',
  'upper',
  'format',
  'for',
  'in',
  'if',
  'each',
  'true',
  'null',
  '1',
  '-2.5',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  '=',
  ':',
  '?',
  ',',
  '.',
  '*',
  '...',
  '=>',
  '==',
  '&&',
  '!',
  '+',
  '"${',
  '}"',
  '%{',
  '~',
  '<<EOT',
  'EOT',
  '<<-X',
  'X',
  '#',
  '//',
  '/*',
  '*/',
  '\n',
  ' ',
  '\\',
];
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(' '));
const nearlyValid = fc
  .record({
    varType: fc.constantFrom('string', 'number', 'bool', 'list(string)', 'map(string)', 'any', 'object({a=string})', 'nope'),
    def: fc.constantFrom('"a"', '1', 'true', '["a"]', '{a = "b"}', 'null', 'var.x', 'upper("a")', '"${1 +}"'),
    expr: fc.constantFrom('var.v', 'local.l', '[for s in var.v : s]', 'var.v[*]', '"${var.v}"', 'length(var.v)', 'var.v ? 1 : 2', '<<EOT\n${var.v}\nEOT\n', 'data.null.d.output'),
    cut: fc.nat(400),
  })
  .map(({ varType, def, expr, cut }) => {
    const text = `variable "v" {\n  type = ${varType}\n  default = ${def}\n}\nlocals {\n  l = ${expr}\n}\ndata "null" "d" {\n  input = local.l\n}\nsource "null" "x" {\n  communicator = "none"\n}\nbuild {\n  sources = ["source.null.x"]\n  provisioner "shell-local" {\n    inline = [${expr}]\n  }\n}\n`;
    return text.slice(0, text.length - (cut % 60));
  });

async function check(text: string): Promise<void> {
  const dir = join(root, `f${n++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.pkr.hcl'), text);
  const r = await prepareHcl({ path: 'a.pkr.hcl', cwd: dir, env: {}, vars: [['v', 'x']], fileExists: () => undefined });
  for (const d of r.diagnostics) {
    expect(typeof d.message).toBe('string');
    if (d.severity === 'error' && !d.path?.startsWith('-var')) expect(d.range, d.message).toBeDefined();
  }
  if (!r.diagnostics.some((d) => d.severity === 'error')) expect(r.loaded.template).toBeDefined();
}

describe('the HCL2 loader on random input', () => {
  it('never throws on arbitrary text', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 120 }), check), { numRuns: 60 });
  }, 120_000);
  it('never throws on random sequences of HCL tokens', async () => {
    await fc.assert(fc.asyncProperty(tokenSoup, check), { numRuns: 150 });
  }, 120_000);
  it('never throws on nearly valid templates (wrong types, cut short, bad references)', async () => {
    await fc.assert(fc.asyncProperty(nearlyValid, check), { numRuns: 150 });
  }, 120_000);
});
