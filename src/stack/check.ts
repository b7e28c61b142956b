// A template through the stack layer's chain, for the commands that only show what it gives:
// load → validate (`kiln validate`, one template or many) and load → validate → evaluate (`kiln
// render`); `kiln graph` has template-graph.ts. The CLI resolves paths, parses flags and prints;
// the chain and the positions of its diagnostics are here.
import { hasErrors, sortDiagnostics, type Diagnostic } from '../core/diagnostics.js';
import { formatPath, locate, type SourceDoc } from '../core/source.js';
import { evaluateTemplate, renderedTemplate } from './evaluate.js';
import { loadTemplate, loadTemplateFile } from './load.js';
import { validateTemplate } from './validate.js';

/** A template file (`-` as displayName: standard input), or its text already read. */
export type TemplateInput = { path: string; displayName: string; stdin?: NodeJS.ReadableStream } | { text: string; displayName: string };

function load(input: TemplateInput): Promise<SourceDoc> | SourceDoc {
  return 'text' in input ? loadTemplate(input.text, input.displayName) : loadTemplateFile(input.path, input.displayName, input.stdin);
}

/**
 * A template loaded and validated. With `declaredOnly`, a parameter value is checked only against a
 * template that declares it (one `--param` for a whole set of templates).
 */
export async function checkTemplate(input: TemplateInput, o: { params: Record<string, string>; now?: Date; declaredOnly?: boolean }): Promise<{ doc: SourceDoc; diagnostics: Diagnostic[] }> {
  const doc = await load(input);
  let params = o.params;
  if (o.declaredOnly) {
    const declared = (doc.value as { Parameters?: unknown } | undefined)?.Parameters;
    params = Object.fromEntries(Object.entries(params).filter(([k]) => typeof declared === 'object' && declared !== null && Object.prototype.hasOwnProperty.call(declared, k)));
  }
  return { doc, diagnostics: validateTemplate(doc, { params, ...(o.now ? { now: o.now } : {}) }) };
}

type RenderResult = { ok: true; rendered: unknown; diagnostics: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

/**
 * A template as it would be deployed: validated first (nothing is rendered from a broken
 * template), then evaluated with NoEcho values masked. `diagnostics` are the validation's warnings
 * and the evaluation's problems, located and sorted; on a failed validation, its diagnostics.
 */
export async function renderTemplate(input: TemplateInput, o: { params: Record<string, string>; pseudo: { stackName: string; region?: string; accountId?: string } }): Promise<RenderResult> {
  const { doc, diagnostics: checked } = await checkTemplate(input, { params: o.params });
  if (hasErrors(checked) || doc.value === undefined) return { ok: false, diagnostics: checked };
  const { template, diagnostics } = evaluateTemplate(doc.value, { parameters: o.params, pseudo: o.pseudo, maskNoEcho: true });
  // A problem inside something Fn::ForEach generated (absent from the text) points at the loop.
  const value = doc.value as Record<string, unknown>;
  const atLoop = diagnostics.map((d) => {
    const seg = d.segments;
    if (!seg || seg.length < 2 || doc.positions.span(seg.slice(0, 2))) return d;
    const section = value[String(seg[0])];
    const loop = section && typeof section === 'object' ? Object.keys(section).find((k) => k.startsWith('Fn::ForEach::')) : undefined;
    return loop ? { ...d, path: formatPath(seg), range: doc.positions.range([String(seg[0]), loop], { key: true }) } : d;
  });
  const located = locate(atLoop, doc);
  for (const d of located) if (!d.range) d.range = { file: doc.file, start: doc.positions.pos(0) };
  const all = sortDiagnostics([...checked.filter((d) => d.severity === 'warning'), ...located]);
  return hasErrors(all) ? { ok: false, diagnostics: all } : { ok: true, rendered: renderedTemplate(template), diagnostics: all };
}
