// Bundles the CLI from the sources (esbuild, ~0.2 s) so tests can run the real `kiln` in a child
// process — and kill it — without depending on `npm run build`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

export async function bundleCli(name: string): Promise<{ entry: string; env: NodeJS.ProcessEnv }> {
  const out = join(root, 'node_modules', '.cache', `kiln-test-${name}`);
  mkdirSync(out, { recursive: true });
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: out,
    // HCL2: WebAssembly packages that load their .wasm beside their own files stay unbundled.
    external: ['better-sqlite3', 'dockerode', '@aws-cdk/*', '@cdktn/hcl2json', 'bcryptjs', 'ssh2', '@aws-sdk/*', '@smithy/*'],
    logLevel: 'silent',
    banner: { js: "import { createRequire as __kilnCreateRequire } from 'node:module'; const require = __kilnCreateRequire(import.meta.url);" },
  });
  const entry = join(out, 'run.mjs');
  writeFileSync(entry, "import { main } from './main.js';\nprocess.exitCode = await main(process.argv.slice(2));\n");
  const spec = join(root, 'dist', 'spec', 'resources.dat');
  if (!existsSync(spec)) execFileSync(process.execPath, [join(root, 'scripts', 'build-spec.mjs')], { cwd: root });
  return { entry, env: { KILN_SPEC_FILE: spec } };
}
