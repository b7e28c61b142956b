// Positions for a template that came from HCL2 files: the engine (prepare.ts) locates its
// diagnostics by the logical paths of the internal template (`builders[0].image`); this index maps
// those paths to ranges in whichever `.pkr.hcl` file the value was written in.
import type { SourceRange } from '../../core/diagnostics.js';
import { formatPath, PositionIndex, type NodeSpan, type Path } from '../../core/source.js';
import type { Range } from './ast.js';

const SEP = '\u0000';
const keyOf = (path: Path) => path.join(SEP);

export class HclPositionIndex extends PositionIndex {
  private readonly ranges = new Map<string, { r: Range; key?: Range }>();
  /** HCL names for the internal template's paths: `builders[0]` → `source.docker.web`. */
  readonly labels = new Map<string, string>();
  /** Logical paths (`builders[0].weird`) that were written as blocks, not arguments. */
  private readonly blockPaths = new Set<string>();
  constructor(file: string) {
    super(file, '');
  }

  setRange(path: Path, r: Range, key?: Range, block?: boolean): void {
    this.ranges.set(keyOf(path), key ? { r, key } : { r });
    if (block) this.blockPaths.add(formatPath(path));
  }

  /** Whether the value at this logical path was written as a block (Packer words errors about it so). */
  isBlock(path: string | undefined): boolean {
    return !!path && this.blockPaths.has(path);
  }

  /** The logical path of a diagnostic in HCL terms (`source.docker.web.image`). */
  relabel(path: string | undefined): string | undefined {
    if (!path) return path;
    const m = /^((?:builders|provisioners|post-processors)\[\d+\](?:\[\d+\])?|error-cleanup-provisioner)(.*)$/.exec(path);
    if (!m) return path;
    const label = this.labels.get(m[1]!);
    return label ? label + m[2] : path;
  }

  override span(path: Path): NodeSpan | undefined {
    const hit = this.ranges.get(keyOf(path));
    return hit ? { start: hit.r.start.offset, end: hit.r.end.offset } : undefined;
  }

  override range(path: Path, opts: { key?: boolean } = {}): SourceRange | undefined {
    for (let n = path.length; n >= 0; n--) {
      const hit = this.ranges.get(keyOf(path.slice(0, n)));
      if (!hit) continue;
      const r = opts.key && n === path.length && hit.key ? hit.key : hit.r;
      return { file: r.file, start: r.start, end: r.end };
    }
    return undefined;
  }
}
