// Source documents: a parsed value plus where each part of it came from. Values stay plain JS data
// (objects, arrays, strings, numbers, booleans, null) so the pure core can work on them directly;
// positions live beside them in a PositionIndex keyed by logical path.
import type { Diagnostic, SourcePos, SourceRange } from './diagnostics.js';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

/** Where one node sits: offsets into the text of the value and, for object members, of the key. */
export interface NodeSpan {
  start: number;
  end: number;
  keyStart?: number;
}

const SEP = '\u0000';
const keyOf = (path: Path) => path.join(SEP);

/** Logical path for messages: `Resources.Web.Properties.SecurityGroupIds[1]`. */
export function formatPath(path: Path): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else s += s ? `.${seg}` : seg;
  }
  return s;
}

/** Binary search over line starts, as a LineCounter does. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  pos(offset: number): SourcePos {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo]! + 1, offset };
  }
}

export class PositionIndex {
  private readonly spans = new Map<string, NodeSpan>();
  private lines: LineIndex | undefined;
  constructor(
    readonly file: string,
    private readonly text: string,
  ) {}

  set(path: Path, span: NodeSpan): void {
    this.spans.set(keyOf(path), span);
  }

  span(path: Path): NodeSpan | undefined {
    return this.spans.get(keyOf(path));
  }

  pos(offset: number): SourcePos {
    this.lines ??= new LineIndex(this.text);
    return this.lines.pos(offset);
  }

  /**
   * The range of the node at `path`, or of its nearest ancestor that has one. With `key: true`, an
   * object member points at its key (where a reader looks for "this property is unknown").
   */
  range(path: Path, opts: { key?: boolean } = {}): SourceRange | undefined {
    for (let n = path.length; n >= 0; n--) {
      const span = this.spans.get(keyOf(path.slice(0, n)));
      if (!span) continue;
      const start = opts.key && n === path.length && span.keyStart !== undefined ? span.keyStart : span.start;
      return { file: this.file, start: this.pos(start), end: this.pos(span.end) };
    }
    return undefined;
  }
}

export interface SourceDoc {
  file: string;
  text: string;
  format: 'json' | 'yaml';
  /** undefined when the text could not be parsed at all. */
  value: unknown;
  positions: PositionIndex;
  diagnostics: Diagnostic[];
}

/**
 * Gives diagnostics that carry `segments` (as the pure core returns them) their printable `path`
 * and, from the document's positions, their `range`. Diagnostics that already have a range keep it.
 */
export function locate<D extends Diagnostic>(diags: readonly D[], doc: Pick<SourceDoc, 'positions'>, opts: { key?: (d: D) => boolean } = {}): D[] {
  return diags.map((d) => {
    if (!d.segments) return d;
    const path = d.path ?? (formatPath(d.segments) || undefined);
    const range = d.range ?? doc.positions.range(d.segments, { key: opts.key?.(d) ?? false });
    return { ...d, path, range };
  });
}
