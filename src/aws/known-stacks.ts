// The AWS stacks kiln deployed from a state directory: their names and regions, nothing else (what
// they hold is CloudFormation's to say; `kiln ui` asks it). `kiln deploy|up --target aws` notes a
// stack once CloudFormation has worked on it, `kiln destroy --target aws` forgets it once deleted.
// One small JSON file beside the state database, replaced whole (write, then rename), so a reader
// never sees half of it.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KnownAwsStack {
  stack: string;
  region: string;
  /** When kiln last deployed it (ISO time). */
  deployedAt: string;
}

const FILE = 'aws-stacks.json';
const NAME = /^[A-Za-z][-A-Za-z0-9]{0,127}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** The stacks noted in `stateDir`, by region then name; a missing or unreadable file is none. */
export function knownAwsStacks(stateDir: string): KnownAwsStack[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(stateDir, FILE), 'utf8'));
  } catch {
    return [];
  }
  const list = raw && typeof raw === 'object' && Array.isArray((raw as { stacks?: unknown }).stacks) ? (raw as { stacks: unknown[] }).stacks : [];
  const out: KnownAwsStack[] = [];
  for (const s of list) {
    const r = s as Partial<KnownAwsStack> | null;
    if (r && typeof r.stack === 'string' && NAME.test(r.stack) && typeof r.region === 'string' && REGION.test(r.region))
      out.push({ stack: r.stack, region: r.region, deployedAt: typeof r.deployedAt === 'string' ? r.deployedAt : '' });
  }
  return out.sort((a, b) => a.region.localeCompare(b.region) || a.stack.localeCompare(b.stack));
}

function save(stateDir: string, stacks: KnownAwsStack[]): void {
  mkdirSync(stateDir, { recursive: true });
  const tmp = join(stateDir, `${FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify({ stacks }, null, 1) + '\n');
  renameSync(tmp, join(stateDir, FILE));
}

/** Notes (or refreshes) a stack. */
export function rememberAwsStack(stateDir: string, stack: string, region: string, at = new Date()): void {
  const rest = knownAwsStacks(stateDir).filter((s) => !(s.stack === stack && s.region === region));
  save(stateDir, [...rest, { stack, region, deployedAt: at.toISOString() }]);
}

/** Forgets a stack (it was deleted). */
export function forgetAwsStack(stateDir: string, stack: string, region: string): void {
  const all = knownAwsStacks(stateDir);
  const rest = all.filter((s) => !(s.stack === stack && s.region === region));
  if (rest.length !== all.length) save(stateDir, rest);
}
