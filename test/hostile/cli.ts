// The real `kiln` in a child process, for hostile inputs: every run has a deadline (a hang is a
// failure, not a stuck test run) and reports its exit code, output, duration and whether it printed
// a Node stack trace.
import { spawn } from 'node:child_process';
import { bundleCli } from '../deploy/cli-bundle.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** setpriv's arguments to run a command without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. */
export const OBEY_PERMISSIONS = ['setpriv', '--bounding-set', '-dac_override,-dac_read_search'];

let bundle: Promise<{ entry: string; env: NodeJS.ProcessEnv }> | undefined;

/** Runs `kiln ARGV…`, killed after `timeoutMs`; `stdin` is written then closed (or left as given). */
export async function kiln(
  argv: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string | Buffer; timeoutMs?: number; maxOldSpaceMb?: number; shell?: boolean; obeyPermissions?: boolean } = {},
): Promise<CliRun> {
  bundle ??= bundleCli('hostile');
  const { entry, env } = await bundle;
  const started = Date.now();
  const node = [`--max-old-space-size=${opts.maxOldSpaceMb ?? 512}`, entry];
  const options = { cwd: opts.cwd, env: { ...process.env, ...env, ...opts.env } };
  // obeyPermissions: without root's right to override file permissions, as any other user is (a
  // state directory it cannot write). Still root, so a checkout in a private folder stays readable.
  const as = opts.obeyPermissions ? [...OBEY_PERMISSIONS] : [];
  const child = opts.shell
    ? spawn('bash', ['-c', `exec ${as.join(' ')} "${process.execPath}" ${node.map((a) => `'${a}'`).join(' ')} ${argv.join(' ')}`], options)
    : as.length
      ? spawn(as[0]!, [...as.slice(1), process.execPath, ...node, ...argv], options)
      : spawn(process.execPath, [...node, ...argv], options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout.length < 1_000_000 ? (stdout += d.toString()) : undefined));
  child.stderr.on('data', (d: Buffer) => (stderr.length < 1_000_000 ? (stderr += d.toString()) : undefined));
  child.stdin.on('error', () => {});
  if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
  else if (!opts.shell) child.stdin.end();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 20_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('close', (c, s) => res([c, s])));
  clearTimeout(timer);
  return { code, signal, stdout, stderr, ms: Date.now() - started, timedOut };
}

/** A Node stack trace or kiln's "internal error" in the output: never acceptable for user input. */
export function crashed(r: Pick<CliRun, 'stderr' | 'stdout'>): boolean {
  const text = r.stderr + r.stdout;
  return /internal error|this is a bug in kiln|\n\s+at .+\(.+:\d+:\d+\)|\n\s+at (node:|file:)/i.test(text);
}
