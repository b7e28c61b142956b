// What a command may touch of the terminal: its streams and whether they are TTYs.
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly color: boolean;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin?: NodeJS.ReadableStream;
}

export function processIO(): CliIO {
  const color = !process.env.NO_COLOR && process.stdout.isTTY === true && process.env.TERM !== 'dumb';
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    color,
    cwd: process.cwd(),
    env: process.env,
    // Touched only by a command that reads it (creating the stream costs a millisecond or two).
    get stdin() {
      return process.stdin;
    },
  };
}

/** An IO that records everything, for tests of command output. */
export function memoryIO(opts: { cwd?: string; env?: NodeJS.ProcessEnv; tty?: boolean } = {}): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    stdoutIsTTY: opts.tty ?? false,
    stderrIsTTY: opts.tty ?? false,
    color: false,
    cwd: opts.cwd ?? process.cwd(),
    env: opts.env ?? process.env,
  };
  return io;
}
