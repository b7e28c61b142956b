// The tags kiln puts on what it creates in AWS, so that a finished AMI can be found by its build key
// and everything temporary can be found by its run (and swept by `kiln gc --target aws`).
import type { Tag } from '@aws-sdk/client-ec2';

export const TAGS = {
  /** The run that created the object (every object, temporary or not). */
  run: 'kiln:run',
  /** `temporary` (instance, key pair, group, volumes), `pending` (an AMI or snapshot not finished), `artifact`. */
  kind: 'kiln:kind',
  /** ISO time of creation (gc's `--older-than`). */
  created: 'kiln:created',
  /** Build key of a finished AMI: set last, once copies, attributes and tags are done. */
  buildKey: 'kiln:build-key',
  /** Build name of a finished AMI. */
  build: 'kiln:build',
  /** `region=ami-…,region=ami-…` of a finished AMI and its copies (the artifact, without another call). */
  copies: 'kiln:copies',
} as const;

type ObjectKind = 'temporary' | 'pending' | 'artifact';

export function toTags(map: Record<string, string>): Tag[] {
  return Object.entries(map).map(([Key, Value]) => ({ Key, Value }));
}

export function tagMap(tags: readonly Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** The tags of one temporary object of a run: the run, its kind, when, plus extra labels (tests). */
export function runTags(runId: string, kind: ObjectKind, labels: Record<string, string>, now: Date): Record<string, string> {
  return { ...labels, [TAGS.run]: runId, [TAGS.kind]: kind, [TAGS.created]: now.toISOString() };
}

export function encodeCopies(amis: Record<string, string>): string {
  return Object.keys(amis)
    .sort()
    .map((r) => `${r}=${amis[r]}`)
    .join(',');
}

export function decodeCopies(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}
