// A deterministic tar writer (POSIX ustar, with pax extended headers only for names that do not
// fit). Every header field that could vary between machines is fixed: uid/gid 0, empty user and
// group names, one mtime for every entry, no atime/ctime records. The same entries in the same
// order always give the same bytes (docs/operations.md, "Container images").

/** One tar entry. Paths are relative, without a leading "/" (the caller normalizes them). */
export type TarEntry =
  | { readonly type: 'file'; readonly path: string; readonly mode: number; readonly data: Uint8Array }
  | { readonly type: 'directory'; readonly path: string; readonly mode: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

export interface TarOptions {
  /** Modification time of every entry, seconds since the epoch (SOURCE_DATE_EPOCH or 0). */
  readonly mtime: number;
}

const BLOCK = 512;
const encoder = new TextEncoder();

/** Octal field of `width` bytes: digits, zero-padded, then a NUL (as GNU tar and Go write it). */
function writeOctal(header: Uint8Array, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  if (digits.length > width - 1)
    throw new Error(`tar: value ${value} does not fit in ${width - 1} octal digits`);
  header.set(encoder.encode(digits), offset);
  header[offset + width - 1] = 0;
}

function writeString(header: Uint8Array, offset: number, width: number, bytes: Uint8Array): void {
  if (bytes.length > width) throw new Error('tar: field too long');
  header.set(bytes, offset);
}

/** ustar splits a long name into prefix (155 bytes) "/" name (100 bytes); undefined when it cannot. */
function splitUstarName(path: Uint8Array): { prefix: Uint8Array; name: Uint8Array } | undefined {
  if (path.length <= 100) return { prefix: new Uint8Array(0), name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    const prefix = path.subarray(0, i);
    const name = path.subarray(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { prefix, name };
    if (prefix.length <= 155) return undefined; // a longer name part only gets longer further left
  }
  return undefined;
}

function header(fields: {
  name: Uint8Array;
  prefix: Uint8Array;
  mode: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: Uint8Array;
}): Uint8Array {
  const h = new Uint8Array(BLOCK);
  writeString(h, 0, 100, fields.name);
  writeOctal(h, 100, 8, fields.mode);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, fields.size);
  writeOctal(h, 136, 12, fields.mtime);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h[156] = fields.typeflag.charCodeAt(0);
  writeString(h, 157, 100, fields.linkname);
  writeString(h, 257, 6, encoder.encode('ustar\0'));
  writeString(h, 263, 2, encoder.encode('00'));
  // uname/gname stay empty: numeric ids only, so the host's user database never leaks in.
  writeOctal(h, 329, 8, 0); // devmajor
  writeOctal(h, 337, 8, 0); // devminor
  writeString(h, 345, 155, fields.prefix);
  let sum = 0;
  for (const byte of h) sum += byte;
  const checksum = sum.toString(8).padStart(6, '0');
  h.set(encoder.encode(checksum), 148);
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** One pax record, "<length> <key>=<value>\n", where length counts the whole record itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length + bodyLength !== length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function padding(size: number): Uint8Array {
  const rest = size % BLOCK;
  return new Uint8Array(rest === 0 ? 0 : BLOCK - rest);
}

/**
 * The tar archive of `entries`, in the given order, ending with two zero blocks. Returns the
 * chunks (headers, data, padding) so large files are not copied; `Buffer.concat` joins them.
 */
export function tarChunks(entries: readonly TarEntry[], options: TarOptions): Uint8Array[] {
  const mtime = Math.max(0, Math.floor(options.mtime));
  const chunks: Uint8Array[] = [];
  for (const entry of entries) {
    const pathText = entry.type === 'directory' ? `${entry.path.replace(/\/+$/, '')}/` : entry.path;
    const path = encoder.encode(pathText);
    const linkname = entry.type === 'symlink' ? encoder.encode(entry.target) : new Uint8Array(0);
    const split = splitUstarName(path);
    const pax: string[] = [];
    if (split === undefined) pax.push(paxRecord('path', pathText));
    if (linkname.length > 100) pax.push(paxRecord('linkpath', entry.type === 'symlink' ? entry.target : ''));
    const size = entry.type === 'file' ? entry.data.length : 0;
    if (pax.length > 0) {
      const paxData = encoder.encode(pax.join(''));
      // The pax header's own name is fixed (no pid or counter), so it never varies between builds.
      chunks.push(
        header({
          name: encoder.encode('PaxHeaders/entry'),
          prefix: new Uint8Array(0),
          mode: 0o644,
          size: paxData.length,
          mtime,
          typeflag: 'x',
          linkname: new Uint8Array(0),
        }),
        paxData,
        padding(paxData.length),
      );
    }
    const mode = entry.type === 'symlink' ? 0o777 : entry.mode & 0o7777;
    const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
    chunks.push(
      header({
        name: split?.name ?? path.subarray(0, Math.min(100, path.length)),
        prefix: split?.prefix ?? new Uint8Array(0),
        mode,
        size,
        mtime,
        typeflag,
        linkname: linkname.length > 100 ? linkname.subarray(0, 100) : linkname,
      }),
    );
    if (entry.type === 'file' && size > 0) chunks.push(entry.data, padding(size));
  }
  chunks.push(new Uint8Array(BLOCK * 2));
  return chunks;
}

/** The tar archive of `entries` as one buffer. */
export function tarBytes(entries: readonly TarEntry[], options: TarOptions): Buffer {
  return Buffer.concat(tarChunks(entries, options));
}

/** A regular file read back from a tar archive. */
export interface TarFile {
  readonly path: string;
  readonly data: Buffer;
}

function field(block: Buffer, offset: number, width: number): string {
  const raw = block.subarray(offset, offset + width);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? width : end).toString('utf8');
}

function octal(block: Buffer, offset: number, width: number, what: string): number {
  const text = field(block, offset, width).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`tar: bad ${what} field ${JSON.stringify(text)}`);
  return text === '' ? 0 : parseInt(text, 8);
}

/**
 * The regular files of a tar archive (ustar, pax `path` records and GNU long names), for reading
 * OCI archives back; directories, links and other entries are skipped. The data are views into `tar`.
 */
export function readTarFiles(tar: Buffer): TarFile[] {
  const files: TarFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    if (sum !== octal(block, 148, 8, 'checksum'))
      throw new Error(`tar: bad header checksum at offset ${offset}`);
    const size = octal(block, 124, 12, 'size');
    const type = String.fromCharCode(block[156] ?? 0x30);
    const dataStart = offset + BLOCK;
    if (dataStart + size > tar.length) throw new Error(`tar: entry at offset ${offset} runs past the end`);
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      for (const record of data.toString('utf8').split('\n')) {
        const match = /^\d+ path=(.*)$/.exec(record);
        if (match?.[1] !== undefined) longName = match[1];
      }
      continue;
    }
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const prefix = field(block, 345, 155);
    const name = longName ?? (prefix === '' ? field(block, 0, 100) : `${prefix}/${field(block, 0, 100)}`);
    longName = undefined;
    if (type === '0' || type === '\0' || type === '7') files.push({ path: name.replace(/^\.\//, ''), data });
  }
  return files;
}
