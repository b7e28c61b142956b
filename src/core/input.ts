// Reading what a user names as input (a template, kiln.yaml, a var file): once, bounded, as a stream.
//
//   readInput(path, { maxBytes, stdin, what }) -> Promise<string>     `-` is standard input
//   readInputSync(path, { maxBytes, what }) -> string
//
// A file, a pipe (`kiln validate <(cat t.json)`, `/dev/stdin`), a FIFO or standard input: read in
// chunks, never past `maxBytes` (more is an error saying so, and reading stops there); a NUL byte or
// bytes that are not UTF-8 end the read at once (binary input such as /dev/zero or /dev/urandom is
// refused at its first chunk). What cannot be read twice (a pipe, a FIFO, a device, stdin) is kept
// for the process, so a second reader gets the same text instead of an empty stream; regular files
// are read afresh each time (`kiln watch` sees edits).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import { KilnError } from './errors.js';

interface InputOptions {
  /** Refuse input longer than this (bytes). */
  maxBytes: number;
  /** What the input is, for messages ("template", "kiln.yaml"). */
  what?: string;
  /** Standard input, for `-` (the process's by default). */
  stdin?: NodeJS.ReadableStream;
  cwd?: string;
  /** How long a FIFO may stay without a writer (or without data) before the read gives up. */
  fifoWaitMs?: number;
}

/** How long kiln waits for a FIFO's writer by default. */
export const FIFO_WAIT_MS = 30_000;

/** The most kiln reads of a template (CloudFormation's limit is 1 MB; Packer's templates are small). */
export const MAX_TEMPLATE_BYTES = 4 * 1024 * 1024;
/** The most kiln reads of a kiln.yaml or a var file. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
export const MAX_VAR_FILE_BYTES = 1024 * 1024;

/** Texts of inputs that cannot be read twice, by path (or why reading failed); standard input's by its stream. */
const ONCE = new Map<string, string | InputError>();
const STDIN = new WeakMap<object, string>();

const CHUNK = 64 * 1024;

export class InputError extends KilnError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super('INPUT', `cannot read ${path}: ${reason}`, 'user');
  }
}

function sizeText(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n.toLocaleString('en')} bytes`;
}

/** Accumulates chunks: checks each one as it comes (binary, UTF-8, size) so that bad input stops early. */
class Collector {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private text = '';
  private bytes = 0;
  constructor(
    private readonly name: string,
    private readonly o: InputOptions,
  ) {}

  add(chunk: Uint8Array): void {
    const nul = chunk.indexOf(0);
    if (nul >= 0) throw new InputError(this.name, `it is binary (a NUL byte at offset ${this.bytes + nul}), not a text ${this.o.what ?? 'file'}`);
    if (this.bytes + chunk.length > this.o.maxBytes)
      throw new InputError(this.name, `it is larger than ${sizeText(this.o.maxBytes)}, the most kiln reads for a ${this.o.what ?? 'file'}; reading stopped there`);
    try {
      this.text += this.decoder.decode(chunk, { stream: true });
    } catch {
      throw new InputError(this.name, `it is not UTF-8 text (an invalid byte within offsets ${this.bytes}–${this.bytes + chunk.length})`);
    }
    this.bytes += chunk.length;
  }

  done(): string {
    try {
      this.text += this.decoder.decode();
    } catch {
      throw new InputError(this.name, 'it is not UTF-8 text (it ends inside a character)');
    }
    return this.text;
  }
}

function openError(name: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOTDIR'
            ? 'a part of the path is not a directory'
            : (e as Error).message;
  return new InputError(name, why);
}

/** Reads an input once, bounded (see the file comment). Throws InputError. */
export async function readInput(path: string, o: InputOptions): Promise<string> {
  if (path === '-') {
    const stdin = o.stdin ?? process.stdin;
    const kept = STDIN.get(stdin);
    if (kept !== undefined) return kept;
    const c = new Collector('standard input', o);
    for await (const chunk of stdin) c.add(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    const text = c.done();
    STDIN.set(stdin, text);
    return text;
  }
  const key = resolve(o.cwd ?? process.cwd(), path);
  const kept = ONCE.get(key);
  if (kept instanceof InputError) throw kept;
  if (kept !== undefined) return kept;
  const c = new Collector(path, o);
  const fifo = await stat(key).then(
    (st) => st.isFIFO(),
    () => false,
  );
  if (fifo) {
    // Read once, whatever the outcome: a second reader must not wait for a writer that has gone.
    const text = await readFifo(key, path, c, o.fifoWaitMs ?? FIFO_WAIT_MS).catch((e: unknown) => e as InputError);
    ONCE.set(key, text);
    if (text instanceof InputError) throw text;
    return text;
  }
  let fh;
  try {
    fh = await open(key, 'r');
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new InputError(path, 'it is a directory');
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, CHUNK, null));
      } catch (e) {
        throw openError(path, e);
      }
      if (n === 0) break;
      c.add(buf.subarray(0, n));
    }
    const text = c.done();
    if (!st.isFile()) ONCE.set(key, text);
    return text;
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * A FIFO, opened without blocking (a plain open waits for a writer for ever) and read as a stream:
 * its end comes only once a writer has come and gone; no writer, or a writer silent, for `waitMs`
 * is an error saying so.
 */
async function readFifo(key: string, path: string, c: Collector, waitMs: number): Promise<string> {
  let fd: number;
  try {
    fd = openSync(key, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw openError(path, e);
  }
  const s = new Socket({ fd, readable: true, writable: false });
  try {
    await new Promise<void>((res, rej) => {
      s.setTimeout(waitMs, () => rej(new InputError(path, `it is a FIFO and nothing was written to it for ${Math.round(waitMs / 1000)} s (no writer?)`)));
      s.on('data', (d: Buffer) => {
        try {
          c.add(d);
        } catch (e) {
          rej(e as Error);
        }
      });
      s.on('end', () => res());
      s.on('error', (e) => rej(openError(path, e)));
    });
    return c.done();
  } finally {
    s.destroy();
  }
}

/** The same, synchronously (for callers that cannot wait). `-` reads file descriptor 0. */
export function readInputSync(path: string, o: Omit<InputOptions, 'stdin'>): string {
  const key = path === '-' ? '-' : resolve(o.cwd ?? process.cwd(), path);
  const kept = path === '-' ? STDIN.get(process.stdin) : ONCE.get(key);
  if (kept instanceof InputError) throw kept;
  if (kept !== undefined) return kept;
  const c = new Collector(path === '-' ? 'standard input' : path, o);
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(key, 'r');
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputError(path, 'it is a directory');
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, CHUNK, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // a non-blocking pipe not ready yet
          continue;
        }
        if ((e as NodeJS.ErrnoException).code === 'EOF') break;
        throw openError(path, e);
      }
      if (n === 0) break;
      c.add(buf.subarray(0, n));
    }
    const text = c.done();
    if (path === '-') STDIN.set(process.stdin, text);
    else if (!st.isFile()) ONCE.set(key, text);
    return text;
  } finally {
    if (path !== '-') closeSync(fd);
  }
}
