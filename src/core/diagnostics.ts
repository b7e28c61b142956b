// Diagnostics: user mistakes are data, not exceptions. Every diagnostic carries a code, the logical
// path inside the document (`Resources.Web.Properties.ImageId`) and, when known, a source position.

type Severity = 'error' | 'warning';

/** 1-based line and column; 0-based byte offset into the source text. */
export interface SourcePos {
  line: number;
  col: number;
  offset: number;
}

export interface SourceRange {
  file: string;
  start: SourcePos;
  end?: SourcePos;
}

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. `E3001` or `UNKNOWN_RESOURCE_TYPE`. */
  code: string;
  message: string;
  /** Logical path, segments joined by dots: `Resources.Web.Properties.ImageId`. */
  path?: string;
  range?: SourceRange;
  /** The logical path as segments, so a caller holding the source can attach `range` later. */
  segments?: readonly (string | number)[];
  detail?: string;
}

export function error(code: string, message: string, where: { path?: string; range?: SourceRange } = {}): Diagnostic {
  return { severity: 'error', code, message, ...where };
}

export function warning(code: string, message: string, where: { path?: string; range?: SourceRange } = {}): Diagnostic {
  return { severity: 'warning', code, message, ...where };
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** `FILE:LINE:COL: error[CODE]: message (at Resources.Web.Properties.ImageId)` */
export function formatDiagnostic(d: Diagnostic, fallbackFile = '<input>'): string {
  const file = d.range?.file ?? fallbackFile;
  const where = d.range ? `${file}:${d.range.start.line}:${d.range.start.col}` : file;
  const at = d.path ? ` (at ${d.path})` : '';
  return `${where}: ${d.severity}[${d.code}]: ${d.message}${at}`;
}

/** Stable order: by file, then position, then code. Diagnostics without a position come last. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort((a, b) => {
    const fa = a.range?.file ?? '';
    const fb = b.range?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    const oa = a.range?.start.offset ?? Number.MAX_SAFE_INTEGER;
    const ob = b.range?.start.offset ?? Number.MAX_SAFE_INTEGER;
    if (oa !== ob) return oa - ob;
    return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
  });
}

/** Thrown only to carry diagnostics across a boundary that cannot return them (e.g. a CLI command). */
export class DiagnosticsError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
    this.name = 'DiagnosticsError';
  }
}
