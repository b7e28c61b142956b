#!/usr/bin/env node
// Entry point: runs the compiled CLI. `npm ci` compiles it (the `prepare` script).
//
// `kiln NAME ...` runs from dist/bundle/NAME.cjs (scripts/bundle-cli.mjs: the command and the code
// it imports, in one file) with V8's code cache beside it: Node 20 keeps no compiled code between
// runs of ES modules, and most of a short command's own time (kiln validate: ~70 ms of ~80) was
// resolving, reading and compiling modules. The cache is V8's own (`vm.Script` cachedData): its file
// name carries the bundle's hash, size and time and the Node version, V8 refuses data from another V8 or
// flags, and a refused or unreadable cache only means compiling as without one. Anything else (no
// bundle, a bundle older than dist/, KILN_NO_BUNDLE=1, help, version, an unknown command) runs
// dist/cli/main.js, the same code as ES modules.
//
// This file is CommonJS (bin/package.json): an ES module entry would start Node's ES module loader,
// ~15 ms, before a bundled command needs none of it.
'use strict';
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const module_ = require('node:module');
const { pathToFileURL } = require('node:url');
const { dirname, join } = require('node:path');

// Node >= 22.1 keeps V8's compiled code of ES modules between runs (a no-op on Node 20).
module_.enableCompileCache?.();

const root = join(__dirname, '..');
const main = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`kiln: ${main} is missing; run \`npm run build\` (npm ci does it) first\n`);
  process.exit(2);
}
const argv = process.argv.slice(2);
const bundled = bundle(argv[0]);
void (async () => {
  process.exitCode = bundled ? await bundled(argv.slice(1)) : await (await import(pathToFileURL(main).href)).main(argv);
})();

/** `run(argv)` of the command's bundle, or undefined when the command has none to trust. */
function bundle(name) {
  if (process.env.KILN_NO_BUNDLE || !name || !/^[a-z][a-z0-9-]*$/.test(name)) return undefined;
  const file = join(root, 'dist', 'bundle', `${name}.cjs`);
  let text;
  let st;
  try {
    st = statSync(file);
    // A build by tsc alone (no bundling) leaves the bundle behind dist/: then dist/ is the truth.
    if (st.mtimeMs < statSync(main).mtimeMs) return undefined;
    text = readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  const vm = require('node:vm');
  // The bundle's first line is the hash of its text (scripts/bundle-cli.mjs); size and time of the
  // file are in the key too, so an edited bundle does not meet the old code.
  const hash = /^\/\/ kiln bundle ([0-9a-f]{64})\n/.exec(text)?.[1];
  const cacheFile = hash && join(root, 'dist', 'bundle', 'cache', `${name}-${hash.slice(0, 24)}-${st.size}-${Math.trunc(st.mtimeMs)}-${process.version}-${process.arch}.v8`);
  let cachedData;
  try {
    cachedData = cacheFile ? readFileSync(cacheFile) : undefined;
  } catch {
    cachedData = undefined;
  }
  // The text is a function expression (exports, require, module, __filename, __dirname,
  // __kilnImportMetaUrl) with no import() in it: it requires its packages (scripts/bundle-cli.mjs).
  const script = new vm.Script(text, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, module_.createRequire(file), mod, file, dirname(file), pathToFileURL(file).href);
  return async (args) => {
    const code = await mod.exports.run(args);
    if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
      // After the run, so that the functions it compiled are in the cache. Written whole or not at
      // all (a read-only installation simply runs without one).
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        mkdirSync(dirname(cacheFile), { recursive: true });
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        try {
          unlinkSync(tmp);
        } catch {
          // nothing was written
        }
      }
    }
    return code;
  };
}
