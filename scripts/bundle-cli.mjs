// Build step (after tsc): one CommonJS bundle per kiln command, dist/bundle/NAME.cjs, holding that
// command's module and everything it imports from dist/ (dependencies in node_modules stay outside).
// bin/kiln.js runs `kiln NAME ...` from it with V8's code cache, which Node 20 has no other way to
// give an ES module: a short command (`kiln validate image.pkr.hcl`) then reads one file instead of
// resolving and compiling some 40 modules, and does not compile the functions it ran last time.
// Help, version and an unknown command go through dist/cli/main.js as before.
//
// Each bundle's body is the same code as dist/: `import.meta.url` becomes the bundle's own URL
// (dist/bundle/ is as deep as dist/stack/, so paths found from it are the same), and a command's
// module is loaded inside runCommand (src/cli/command.ts), as the dispatcher loads it.
import { mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');
const entries = join(out, 'entries');

const { COMMAND_NAMES } = await import(pathToFileURL(join(dist, 'cli', 'main.js')).href);
rmSync(out, { recursive: true, force: true });
mkdirSync(entries, { recursive: true });
const entryPoints = [];
for (const name of COMMAND_NAMES) {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(join(dist, 'cli', 'commands', `${name}.js`))) {
    throw new Error(`command ${name}: no module dist/cli/commands/${name}.js (a command's name is its module's name)`);
  }
  const entry = join(entries, `${name}.js`);
  writeFileSync(
    entry,
    `import { processIO } from '../../cli/io.js';\n` +
      `import { runCommand } from '../../cli/command.js';\n` +
      `export const run = (argv) => runCommand(() => import('../../cli/commands/${name}.js'), argv, processIO());\n`,
  );
  entryPoints.push({ in: entry, out: name });
}

const result = await build({
  entryPoints,
  outdir: out,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // import() of a package becomes require() (each has a CommonJS build): a vm.Script run from a code
  // cache has no dynamic import callback in Node 20, and the one that does exist is experimental.
  supported: { 'dynamic-import': false },
  // bin/kiln.js passes the bundle's own URL in.
  define: { 'import.meta.url': '__kilnImportMetaUrl' },
  // Fewer bytes to read (this machine's file reads cost about 15 ms per MB); names kept for messages.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  charset: 'ascii',
  logLevel: 'warning',
  write: false,
});
if (result.warnings.length > 0) throw new Error(`bundling the CLI: ${result.warnings.length} warning(s)`);
for (const f of result.outputFiles) {
  // One-byte source text: esbuild leaves non-ASCII in regular expression literals; \uXXXX means
  // the same there (and in strings, templates and comments).
  // Wrapped as CommonJS wraps a module, so that bin/kiln.js compiles the file's text as it is.
  const text = `(function (exports, require, module, __filename, __dirname, __kilnImportMetaUrl) {${f.text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n})`;
  // The first line names the text by its hash: bin/kiln.js keys the code cache on it (cheaper than
  // hashing at every start, which would load node:crypto: ~8 ms).
  writeFileSync(f.path, `// kiln bundle ${createHash('sha256').update(text).digest('hex')}\n${text}`);
}
rmSync(entries, { recursive: true, force: true });
const files = readdirSync(out).filter((f) => f.endsWith('.cjs'));
const bytes = files.reduce((n, f) => n + readFileSync(join(out, f)).length, 0);
console.log(`bundled ${files.length} commands into dist/bundle (${(bytes / 1e6).toFixed(1)} MB)`);
