// A minimal tar writer and reader (ustar + PAX long names), enough for the Engine API's archive
// endpoints: uploads become one in-memory tar, downloads are read back entry by entry.
import { readdirSync, readFileSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  data?: Buffer;
  linkname?: string;
  uid?: number;
  gid?: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, e: { size: number; mode: number; typeflag: string; linkname?: string; uid?: number; gid?: number }): Buffer {
  const h = Buffer.alloc(512, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 8, 'ascii');
  h.write(octal(e.uid ?? 0, 8), 108, 8, 'ascii');
  h.write(octal(e.gid ?? 0, 8), 116, 8, 'ascii');
  h.write(octal(e.size, 12), 124, 12, 'ascii');
  h.write(octal(0, 12), 136, 12, 'ascii'); // mtime 0: content, not time, matters
  h.write('        ', 148, 8, 'ascii');
  h.write(e.typeflag, 156, 1, 'ascii');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

function pad(size: number): Buffer {
  const r = size % 512;
  return Buffer.alloc(r === 0 ? 0 : 512 - r, 0);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  for (;;) {
    const s = `${len}${body}`;
    const l = Buffer.byteLength(s);
    if (l === len) return s;
    len = l;
  }
}

export function packTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    let name = e.type === 'dir' && !e.name.endsWith('/') ? e.name + '/' : e.name;
    const needsPax = Buffer.byteLength(name) > 99 || Buffer.byteLength(e.linkname ?? '') > 99;
    if (needsPax) {
      let recs = paxRecord('path', name);
      if (e.linkname) recs += paxRecord('linkpath', e.linkname);
      const data = Buffer.from(recs, 'utf8');
      parts.push(header('PaxHeader', { size: data.length, mode: 0o644, typeflag: 'x' }), data, pad(data.length));
      name = name.slice(0, 99);
    }
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const typeflag = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
    const linkname = e.linkname && Buffer.byteLength(e.linkname) <= 99 ? e.linkname : undefined;
    parts.push(header(name, { size: data.length, mode: e.mode, typeflag, linkname, uid: e.uid, gid: e.gid }), data, pad(data.length));
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

function readOctal(b: Buffer, off: number, len: number): number {
  const s = b
    .subarray(off, off + len)
    .toString('ascii')
    .replace(/\0.*$/s, '')
    .trim();
  return s ? parseInt(s, 8) : 0;
}

function readStr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString('utf8');
}

export function unpackTar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = readOctal(h, 124, 12);
    const typeflag = String.fromCharCode(h[156] || 48);
    const prefix = readStr(h, 345, 155);
    let name = readStr(h, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + size + ((512 - (size % 512)) % 512);
    if (typeflag === 'x') {
      pax = {};
      let s = data.toString('utf8');
      while (s.length) {
        const sp = s.indexOf(' ');
        const len = parseInt(s.slice(0, sp), 10);
        const rec = Buffer.from(s, 'utf8').subarray(0, len).toString('utf8');
        const kv = rec.slice(sp + 1, -1);
        const eq = kv.indexOf('=');
        pax[kv.slice(0, eq)] = kv.slice(eq + 1);
        s = Buffer.from(s, 'utf8').subarray(len).toString('utf8');
      }
      continue;
    }
    if (typeflag === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (typeflag === 'g') continue;
    name = pax.path ?? longName ?? name;
    const linkname = pax.linkpath ?? readStr(h, 157, 100);
    pax = {};
    longName = undefined;
    const mode = readOctal(h, 100, 8);
    if (typeflag === '5') out.push({ name: name.replace(/\/$/, ''), type: 'dir', mode });
    else if (typeflag === '2') out.push({ name, type: 'symlink', mode, linkname });
    else if (typeflag === '0' || typeflag === '\0' || typeflag === '7') out.push({ name, type: 'file', mode, data: Buffer.from(data) });
  }
  return out;
}

/** Walks a local directory into tar entries under `prefix` (sorted, so the archive is stable). */
export function dirEntries(root: string, prefix: string): TarEntry[] {
  const out: TarEntry[] = [];
  const walk = (abs: string, rel: string): void => {
    const st = lstatSync(abs);
    const name = prefix ? (rel ? `${prefix}/${rel}` : prefix) : rel;
    if (st.isSymbolicLink()) out.push({ name, type: 'symlink', mode: st.mode & 0o7777, linkname: readlinkSync(abs) });
    else if (st.isDirectory()) {
      if (name) out.push({ name, type: 'dir', mode: st.mode & 0o7777 });
      for (const c of readdirSync(abs).sort()) walk(join(abs, c), rel ? `${rel}/${c}` : c);
    } else if (st.isFile()) out.push({ name, type: 'file', mode: st.mode & 0o7777, data: readFileSync(abs) });
  };
  walk(root, '');
  return out;
}
