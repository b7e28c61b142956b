// Unquoted `yes`, `no`, `on`, `off` in a YAML template. CloudFormation reads YAML 1.1, where these
// plain scalars are booleans (as PyYAML, and so cfn-lint, read them): `AllowedValues: [Yes, No]` allows
// "true" and "false", and a Tag `Value: NO` becomes "false". kiln reads them the same way
// (src/stack/yaml.ts) and says so where it happens, because the author almost always meant the word.
//
//   yamlBooleanHints(doc) -> Diagnostic[]   warnings YAML_BOOLEAN, located
import { warning, type Diagnostic } from '../core/diagnostics.js';
import { formatPath, type PathSegment, type SourceDoc } from '../core/source.js';

const WORD = /^(?:yes|no|on|off)$/i;

export function yamlBooleanHints(doc: SourceDoc): Diagnostic[] {
  if (doc.format !== 'yaml' || doc.value === undefined) return [];
  const out: Diagnostic[] = [];
  const walk = (v: unknown, path: PathSegment[]) => {
    if (typeof v === 'boolean') {
      const span = doc.positions.span(path);
      const text = span ? doc.text.slice(span.start, span.end).trim() : '';
      if (!WORD.test(text)) return;
      const quoted = `'${text}'`;
      const where = path.includes('AllowedValues') ? ' (so a value given as ' + quoted + ' is refused)' : '';
      out.push({
        ...warning('YAML_BOOLEAN', `unquoted ${text} is the boolean ${String(v)} in YAML 1.1, as CloudFormation reads it: the value is '${String(v)}'${where}; write ${quoted} to keep the word`),
        path: formatPath(path),
        segments: path,
        range: doc.positions.range(path),
      });
      return;
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(doc.value, []);
  return out;
}
