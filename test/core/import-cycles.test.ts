// The modules of src import each other without cycles: every import (static, re-export or dynamic
// import(); type-only imports left out, as they vanish at run time) is an edge of the module graph,
// whose cycles the one graph code in src/core/dag.ts finds.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { graphCycles } from '../../src/core/dag.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** The modules of src a file imports at run time (relative specifiers only: packages are not ours). */
function runtimeImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const specs: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const typeOnly =
        c !== undefined &&
        (c.isTypeOnly ||
          (!c.name && c.namedBindings !== undefined && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) specs.push(n.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      if (!n.isTypeOnly) specs.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) {
      specs.push(n.arguments[0].text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return specs.filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file), s.replace(/\.js$/, '.ts'))));
}

describe('import cycles in src', () => {
  test('src has none but the one between the VPC and the metadata service (network.ts deletes the VPC, imds.ts uses its helpers)', () => {
    const graph = new Map(sources(join(root, 'src')).map((f) => [f, runtimeImports(f)]));
    const cycles = graphCycles([...graph.keys()], (f) => graph.get(f)!.filter((t) => graph.has(t)));
    expect(cycles.map((c) => [...new Set(c.map((f) => relative(root, f)))].sort())).toEqual([['src/providers/docker/imds.ts', 'src/providers/docker/network.ts']]);
  });
});
