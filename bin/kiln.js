#!/usr/bin/env node
// Entry point: runs the compiled CLI. `npm ci` compiles it (the `prepare` script).
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// Node >= 22.1 keeps V8's compiled code between runs: most of a short command's own time (kiln
// validate: ~70 ms of ~80) is loading and compiling modules. Node 20 has no such cache (a no-op).
module.enableCompileCache?.();

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`kiln: ${main} is missing; run \`npm run build\` (npm ci does it) first\n`);
  process.exit(2);
}
const { main: run } = await import(main);
process.exitCode = await run(process.argv.slice(2));
