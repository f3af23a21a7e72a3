// A flat, log-structured file system over raw NOR flash (SPIFFS-like: names up to 31 bytes, a fixed
// capacity, no directories), for hosts that have a flash chip and no file system: the QEMU firmware's
// emulated CFI flash, or a raw ESP32 partition. Hosts implement NorFlash; FlashFS implements FlashStore.
//
// On flash (all integers little-endian):
//   The region is cut into erase blocks, each block into pages of PAGE bytes. Page 0 of a block is its
//   block header; the other pages are written strictly in order (a block is a log), never rewritten in
//   place: a changed page is written anew elsewhere and the old copy marked obsolete.
//   Block header:  magic | blockSeq | eraseCount | pageSize | eraseSize | crc(0..20)
//                  | gcVictim | gcVictimSeq | ~crc(24..32)   (the GC marker, programmed when the block
//                  receives the live pages of a block being collected)
//   Page header (32 bytes), then the payload (PAGE - 32 bytes):
//     type(u8: 'D' data, 'I' inode) | 0x5a | len(u16) | fileId | seq | span | time | crc(0..20 [+inode])
//     | commit | obsolete
//   - seq: a global counter, +1 for every page written (copies made by GC keep theirs);
//   - data pages hold bytes [span*payload, span*payload+len) of the file; missing spans read as zeros;
//     the size of a file is the end of its last data page;
//   - inode pages hold atime(u32) + the name (len bytes); the file's name, atime, and (when the inode
//     is the file's newest page) mtime. `time` of a page is the file's mtime as of that page;
//   - commit is programmed (to 0) after the rest of the page: a page cut off while being programmed
//     stays uncommitted and is ignored; obsolete is programmed when the page is superseded or deleted.
//
// Atomicity (power may fail between any two flash operations, or in the middle of one):
//   - every change becomes valid with one commit word; the newest inode (by seq) of a file is the file,
//     and when two files claim a name the one whose inode is newer wins. So rename(from, to) is: write
//     a new inode for `from` named `to` (the commit point), then delete the old `to`. create() over an
//     existing name is the same with a new file. After a crash the mount scan finishes what was left
//     (older inodes, losing claims, superseded data pages, pages of deleted files are marked obsolete);
//   - garbage collection copies the live pages of a victim block into the spare block (marked with the
//     victim first) and then erases the victim; a mount that finds the marker still matching the victim
//     erases the half-filled spare (its pages are copies) and the victim keeps everything.
//   Assumption: an interrupted erase leaves the block either erased or with an invalid header (it is
//   then erased again at mount); flash that reverts single programmed bits is not handled.
//
// RAM: a few bytes per page (owner and span tables) and per block, one entry per file (at most
// MAX_FILES), one page of scratch. Nothing is ever buffered per file.

import { SPIFFS_MAX_NAME, SPIFFS_MAX_OPEN_FILES, StoreError, type FileHandle, type FlashStore, type Stat } from "./store.js";
import { utf8Decode, utf8Encode } from "../ssh/wire.js";

/** What a host provides: raw NOR flash. program() can only clear bits (1 -> 0); erase() sets a whole
 * block to 0xFF. Offsets are relative to the region the host gives the store. */
export interface NorFlash {
  /** Bytes in the region (a multiple of eraseSize). */
  readonly size: number;
  /** Erase block size, e.g. 4096 (SPI NOR) or 262144 (QEMU virt's CFI flash). */
  readonly eraseSize: number;
  /** Program granularity the chip needs (informational: the store writes 4-byte aligned words). */
  readonly programSize?: number;
  read(offset: number, out: Uint8Array): void;
  program(offset: number, data: Uint8Array): void;
  erase(blockOffset: number): void;
}

export interface FlashFSOptions {
  /** Page size in bytes (a power of two, at most eraseSize / 4). Default 1024 (at most eraseSize / 16). */
  pageSize?: number;
  /** Files at most (the RAM index is bounded by it). Default MAX_FILES. */
  maxFiles?: number;
  /** Seconds since 1970 for mtimes. Default Date.now(). */
  now?: () => number;
}

/** Files a store holds at most: each costs one index entry in RAM and one inode page on flash. */
export const MAX_FILES = 64;
/** Default page size: small files waste less than with 4 KiB pages; the RAM tables stay at 3 bytes per
 * page (6 KiB for 2 MiB of flash). */
export const DEFAULT_PAGE_SIZE = 1024;
/** Page header bytes. */
export const PAGE_HEADER = 32;
/** Pages kept out of the capacity: one for the new copy of a page written before its old copy is marked
 * obsolete, one so that garbage collection always finds a block with something to reclaim. */
const RESERVE_PAGES = 2;

const BLOCK_MAGIC = 0x31465345; // "ESF1"
const BLOCK_HEADER = 36;
const TYPE_DATA = 0x44; // 'D'
const TYPE_INODE = 0x49; // 'I'
const TYPE_CHECK = 0x5a;
const ERASED = 0xffffffff;
/** span of inode pages in the span table. */
const INODE_SPAN = 0xffff;
/** Owner table values: 0 = not live (free, dead or header); slot + 1 = live page of that file. */
const NOT_LIVE = 0;
/** Store handles open at once: a little above what Files hands out (an upload that copies the old
 * content holds a second handle for a moment). */
const MAX_HANDLES = SPIFFS_MAX_OPEN_FILES * 2;
/** Programmed over a commit or obsolete word (preload: read-only). */
const ZERO4 = new Uint8Array(4);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of bytes[from, to), continuing `crc` (start with 0). */
function crc32(bytes: Uint8Array, from: number, to: number, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function get32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

function allFF(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0xff) return false;
  return true;
}

/** A file in the RAM index. */
interface Entry {
  slot: number;
  id: number;
  name: string;
  inodePage: number;
  size: number;
  mtime: number;
  /** seq of the page that set mtime (the file's newest page). */
  mtimeSeq: number;
  atime: number;
  /** Live data pages. */
  dataPages: number;
  /** Where the last page lookup hit (files are mostly read in order, and written in order). */
  hint: number;
  /** False once removed or replaced: handles on it then fail. */
  alive: boolean;
}

/** Parsed page header (one scratch object, reused). */
interface Header {
  type: number;
  len: number;
  id: number;
  seq: number;
  span: number;
  time: number;
  /** CRC good and committed and not obsolete. */
  live: boolean;
  /** CRC good (committed or not): its seq and id count for the counters. */
  valid: boolean;
  erased: boolean;
}

export class FlashFS implements FlashStore {
  readonly capacity: number;
  readonly directories = false;
  readonly maxNameLength = SPIFFS_MAX_NAME;
  readonly maxOpenFiles = SPIFFS_MAX_OPEN_FILES;
  readonly pageSize: number;
  /** Data bytes per page. */
  readonly payload: number;
  /** FlashStore.writeUnit: a page's data (a write covering part of a page reads and rewrites it). */
  readonly writeUnit: number;
  readonly blocks: number;
  readonly pagesPerBlock: number;
  readonly maxFiles: number;
  /** Pages available to files (inode pages included). */
  readonly capacityPages: number;

  private readonly pages: number;
  private readonly owner: Uint8Array;
  private readonly spanOf: Uint16Array;
  /** Next page to program in each block (pagesPerBlock: full). 0 marks a block without a valid header. */
  private readonly next: Uint16Array;
  private readonly liveIn: Uint16Array;
  private readonly blockSeq: Uint32Array;
  private readonly eraseCount: Uint32Array;
  private readonly files: (Entry | null)[];
  private readonly scratch: Uint8Array;
  private readonly small = new Uint8Array(4);
  private readonly small12 = new Uint8Array(BLOCK_HEADER);
  private readonly hdr: Header = { type: 0, len: 0, id: 0, seq: 0, span: 0, time: 0, live: false, valid: false, erased: false };
  private readonly now: () => number;
  private livePages = 0;
  private seq = 0;
  private nextId = 1;
  private nextBlockSeq = 1;
  private active = -1;
  private handles = 0;
  /** Counters for tests and reports. */
  readonly stats = { gcRuns: 0, gcCopied: 0, erases: 0, mountRepairs: 0 };

  constructor(private readonly flash: NorFlash, options: FlashFSOptions = {}) {
    const eraseSize = flash.eraseSize;
    this.pageSize = options.pageSize ?? Math.min(DEFAULT_PAGE_SIZE, eraseSize / 16);
    const ps = this.pageSize;
    if (!(ps >= 128 && (ps & (ps - 1)) === 0 && eraseSize % ps === 0 && eraseSize / ps >= 4)) {
      throw new StoreError("EINVAL", `flash: page size ${ps} does not suit erase blocks of ${eraseSize} bytes`);
    }
    this.payload = ps - PAGE_HEADER;
    this.writeUnit = this.payload;
    this.blocks = Math.floor(flash.size / eraseSize);
    this.pagesPerBlock = eraseSize / ps;
    this.pages = this.blocks * this.pagesPerBlock;
    if (this.blocks < 2) throw new StoreError("EINVAL", "flash: at least two erase blocks are needed (one is the spare)");
    if (this.pages >= INODE_SPAN) throw new StoreError("EINVAL", `flash: ${this.pages} pages are too many (use larger pages)`);
    this.maxFiles = Math.min(options.maxFiles ?? MAX_FILES, 250); // owner tags are bytes
    this.capacityPages = (this.blocks - 1) * (this.pagesPerBlock - 1) - RESERVE_PAGES;
    if (this.capacityPages < 2) throw new StoreError("EINVAL", "flash: too small");
    this.capacity = this.capacityPages * this.payload;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.owner = new Uint8Array(this.pages);
    this.spanOf = new Uint16Array(this.pages);
    this.next = new Uint16Array(this.blocks);
    this.liveIn = new Uint16Array(this.blocks);
    this.blockSeq = new Uint32Array(this.blocks);
    this.eraseCount = new Uint32Array(this.blocks);
    this.files = new Array(this.maxFiles + 1).fill(null); // + 1: a file replacing another while all are taken
    this.scratch = new Uint8Array(ps);
    this.mount();
  }

  // ----------------------------------------------------------------------------------------------
  // FlashStore

  used(): number {
    return this.livePages * this.payload;
  }

  stat(path: string): Stat | null {
    if (path === "") return { name: "/", size: 0, mtime: 0, atime: 0, isDirectory: true, mode: 0o755 };
    const e = this.find(path);
    return e ? this.statOf(e) : null;
  }

  list(dir: string): Stat[] {
    if (dir !== "") {
      if (this.find(dir)) throw new StoreError("ENOTDIR", `"${dir}" is not a directory`);
      throw new StoreError("ENOENT", `"${dir}": no such directory`);
    }
    const out: Stat[] = [];
    for (const e of this.files) if (e) out.push(this.statOf(e));
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  open(path: string, mode: "read" | "write" | "create"): FileHandle {
    if (this.handles >= MAX_HANDLES) throw new StoreError("EMFILE", `at most ${MAX_HANDLES} files can be open at once`);
    let e: Entry;
    if (mode === "create") e = this.create(path);
    else {
      const found = this.find(path);
      if (!found) throw new StoreError("ENOENT", `"${path}": no such file`);
      e = found;
    }
    this.handles++;
    return new Handle(this, e, mode !== "read");
  }

  remove(path: string): void {
    const e = this.find(path);
    if (!e) throw new StoreError("ENOENT", `"${path}": no such file`);
    this.deleteFile(e);
  }

  rename(from: string, to: string): void {
    const e = this.find(from);
    if (!e) throw new StoreError("ENOENT", `"${from}": no such file`);
    const nameBytes = this.checkName(to);
    if (from === to) return;
    const old = this.find(to);
    // The commit point: the file's new inode, newer than the inode of the file it replaces.
    this.writeInode(e, nameBytes, e.atime, e.mtime);
    e.name = to;
    if (old) this.deleteFile(old);
  }

  mkdir(path: string): void {
    throw new StoreError("EPERM", `"${path}": this flash store is flat (no directories)`);
  }

  rmdir(path: string): void {
    throw new StoreError("EPERM", `"${path}": this flash store is flat (no directories)`);
  }

  setTimes(path: string, atime: number, mtime: number): void {
    const e = this.find(path);
    if (!e) throw new StoreError("ENOENT", `"${path}": no such file`);
    this.writeInode(e, this.checkName(e.name), atime >>> 0, mtime >>> 0);
  }

  /** Erase counts of the blocks (wear), for reports. */
  wear(): { min: number; max: number; total: number } {
    let min = Infinity, max = 0, total = 0;
    for (let b = 0; b < this.blocks; b++) {
      const c = this.eraseCount[b];
      min = Math.min(min, c);
      max = Math.max(max, c);
      total += c;
    }
    return { min, max, total };
  }

  /** Bytes of RAM the store's tables take (typed arrays and scratch; index entries excluded). */
  ramBytes(): number {
    return this.owner.byteLength + this.spanOf.byteLength + this.next.byteLength + this.liveIn.byteLength +
      this.blockSeq.byteLength + this.eraseCount.byteLength + this.scratch.byteLength;
  }

  // ----------------------------------------------------------------------------------------------
  // Files

  private find(name: string): Entry | null {
    for (const e of this.files) if (e && e.name === name) return e;
    return null;
  }

  private statOf(e: Entry): Stat {
    return { name: e.name, size: e.size, mtime: e.mtime, atime: e.atime, isDirectory: false, mode: 0o644 };
  }

  private checkName(name: string): Uint8Array {
    if (name === "" || name.includes("/") || name.includes("\0")) throw new StoreError("EINVAL", `"${name}": not a valid file name`);
    const bytes = utf8Encode(name);
    if (bytes.length > this.maxNameLength) {
      throw new StoreError("ENAMETOOLONG", `"${name.slice(0, 40)}": names are limited to ${this.maxNameLength} bytes on this flash`);
    }
    return bytes;
  }

  private noSpace(): StoreError {
    const free = Math.max(0, this.capacityPages - this.livePages) * this.payload;
    return new StoreError("ENOSPC", `no space left on the flash (${free} of ${this.capacity} bytes free)`);
  }

  /** Throws ENOSPC unless `growth` more live pages fit. */
  private reserve(growth: number): void {
    if (growth > 0 && this.livePages + growth > this.capacityPages) throw this.noSpace();
  }

  private create(path: string): Entry {
    const nameBytes = this.checkName(path);
    const old = this.find(path);
    let count = 0;
    for (const f of this.files) if (f) count++;
    if (!old && count >= this.maxFiles) throw new StoreError("ENOSPC", `the flash holds at most ${this.maxFiles} files`);
    this.reserve(1 - (old ? old.dataPages + 1 : 0));
    const slot = this.files.indexOf(null);
    const time = this.now();
    const e: Entry = { slot, id: this.nextId++, name: path, inodePage: -1, size: 0, mtime: time, mtimeSeq: 0, atime: time, dataPages: 0, hint: 0, alive: true };
    this.files[slot] = e;
    try {
      this.writeInode(e, nameBytes, time, time); // the commit point
    } catch (err) {
      this.files[slot] = null;
      throw err;
    }
    if (old) this.deleteFile(old);
    return e;
  }

  private deleteFile(e: Entry): void {
    // The inode first: the file is gone at that point; its data pages are then only orphans.
    this.obsolete(e.inodePage);
    e.alive = false;
    this.files[e.slot] = null;
    if (e.dataPages > 0) {
      const tag = e.slot + 1;
      for (let p = 0; p < this.pages; p++) if (this.owner[p] === tag) this.obsolete(p);
    }
  }

  // ----------------------------------------------------------------------------------------------
  // Pages

  /** The live data page of file `e` for `span`, or -1. */
  findPage(e: Entry, span: number): number {
    if (e.dataPages === 0 || span * this.payload >= e.size) return -1; // every page holds >= 1 byte
    const tag = e.slot + 1;
    const n = this.pages;
    for (let i = 0, p = e.hint; i < n; i++, p = p + 1 === n ? 0 : p + 1) {
      if (this.owner[p] === tag && this.spanOf[p] === span) {
        e.hint = p;
        return p;
      }
    }
    return -1;
  }

  private pageOffset(p: number): number {
    return p * this.pageSize;
  }

  /** Marks a live page obsolete (on flash and in the tables). */
  private obsolete(p: number): void {
    this.flash.program(this.pageOffset(p) + 28, ZERO4);
    const tag = this.owner[p];
    if (tag === NOT_LIVE) return;
    this.owner[p] = NOT_LIVE;
    this.livePages--;
    this.liveIn[Math.floor(p / this.pagesPerBlock)]--;
    const e = this.files[tag - 1];
    if (e && this.spanOf[p] !== INODE_SPAN) e.dataPages--;
  }

  /** Programs the page in scratch (header filled; commit and obsolete left blank) at page p, which
   * allocate() returned; the commit word goes last. */
  private programAt(p: number, tag: number, span: number): void {
    const off = this.pageOffset(p);
    const s = this.scratch;
    put32(s, 24, ERASED);
    put32(s, 28, ERASED);
    this.flash.program(off, s);
    this.flash.program(off + 24, ZERO4);
    this.owner[p] = tag;
    this.spanOf[p] = span;
    this.livePages++;
    this.liveIn[Math.floor(p / this.pagesPerBlock)]++;
  }

  private fillHeader(type: number, len: number, id: number, seq: number, span: number, time: number, crcTo: number): void {
    const s = this.scratch;
    s[0] = type;
    s[1] = TYPE_CHECK;
    s[2] = len & 0xff;
    s[3] = len >>> 8;
    put32(s, 4, id);
    put32(s, 8, seq);
    put32(s, 12, span);
    put32(s, 16, time);
    let crc = crc32(s, 0, 20);
    if (crcTo > PAGE_HEADER) crc = crc32(s, PAGE_HEADER, crcTo, crc);
    put32(s, 20, crc);
  }

  /** Writes a new inode for `e` and retires its current one. */
  private writeInode(e: Entry, nameBytes: Uint8Array, atime: number, mtime: number): void {
    const p = this.allocate(); // first: collecting garbage moves pages and uses the scratch page
    const old = e.inodePage;
    const s = this.scratch;
    s.fill(0xff);
    put32(s, PAGE_HEADER, atime);
    s.set(nameBytes, PAGE_HEADER + 4);
    const seq = ++this.seq;
    this.fillHeader(TYPE_INODE, nameBytes.length, e.id, seq, 0, mtime, PAGE_HEADER + 4 + nameBytes.length);
    this.programAt(p, e.slot + 1, INODE_SPAN);
    e.inodePage = p;
    e.atime = atime;
    e.mtime = mtime;
    e.mtimeSeq = seq;
    if (old >= 0) this.obsolete(old);
  }

  /** Writes payload bytes [0, len) of scratch as data page `span` of `e` at page p (from allocate()),
   * then retires `old`, the span's previous page. */
  private writeData(p: number, e: Entry, span: number, len: number, old: number): void {
    const seq = ++this.seq;
    const time = this.now();
    this.fillHeader(TYPE_DATA, len, e.id, seq, span, time, 0);
    this.programAt(p, e.slot + 1, span);
    e.dataPages++;
    e.hint = p;
    e.mtime = time;
    e.mtimeSeq = seq;
    if (old >= 0) this.obsolete(old);
  }

  /** Length of the data in page p (from its header). */
  private lenOf(p: number): number {
    const h = this.small;
    this.flash.read(this.pageOffset(p), h);
    return h[2] | (h[3] << 8);
  }

  /** Loads span `span` of `e` into scratch's payload (zeros beyond its data); returns [page, len]. */
  private loadSpan(e: Entry, span: number): [number, number] {
    const s = this.scratch;
    const p = this.findPage(e, span);
    s.fill(0);
    if (p < 0) return [-1, 0];
    const len = this.lenOf(p);
    if (len > 0) this.flash.read(this.pageOffset(p) + PAGE_HEADER, s.subarray(PAGE_HEADER, PAGE_HEADER + len));
    return [p, len];
  }

  // File handle operations (called by Handle).

  readAt(e: Entry, offset: number, out: Uint8Array): number {
    if (!e.alive) throw new StoreError("ENOENT", `"${e.name}" was removed`);
    if (offset >= e.size || out.length === 0) return 0;
    const n = Math.min(out.length, e.size - offset);
    const pl = this.payload;
    let done = 0;
    while (done < n) {
      const pos = offset + done;
      const span = Math.floor(pos / pl);
      const within = pos - span * pl;
      const take = Math.min(pl - within, n - done);
      const p = this.findPage(e, span);
      const len = p < 0 ? 0 : this.lenOf(p);
      const have = Math.max(0, Math.min(take, len - within));
      if (have > 0) this.flash.read(this.pageOffset(p) + PAGE_HEADER + within, out.subarray(done, done + have));
      if (have < take) out.fill(0, done + have, done + take);
      done += take;
    }
    return n;
  }

  writeAt(e: Entry, offset: number, data: Uint8Array): void {
    if (!e.alive) throw new StoreError("ENOENT", `"${e.name}" was removed`);
    if (data.length === 0) return;
    const pl = this.payload;
    const end = offset + data.length;
    const first = Math.floor(offset / pl);
    const last = Math.floor((end - 1) / pl);
    let growth = 0;
    for (let span = first; span <= last; span++) if (this.findPage(e, span) < 0) growth++;
    this.reserve(growth);
    const s = this.scratch;
    for (let span = first; span <= last; span++) {
      const start = span * pl;
      const from = Math.max(offset, start) - start;
      const to = Math.min(end, start + pl) - start;
      const p = this.allocate();
      let old = -1, len = 0;
      if (from > 0 || to < pl) [old, len] = this.loadSpan(e, span);
      else old = this.findPage(e, span);
      s.set(data.subarray(start + from - offset, start + to - offset), PAGE_HEADER + from);
      this.writeData(p, e, span, Math.max(len, to), old);
    }
    if (end > e.size) e.size = end;
  }

  truncateTo(e: Entry, size: number): void {
    if (!e.alive) throw new StoreError("ENOENT", `"${e.name}" was removed`);
    if (!(size >= 0 && size <= 0xffffffff)) throw new StoreError("EINVAL", `invalid size ${size}`);
    if (size === e.size) return;
    const pl = this.payload;
    const lastSpan = size === 0 ? -1 : Math.floor((size - 1) / pl);
    const tailLen = size - lastSpan * pl;
    if (size < e.size) {
      // Drop the pages past the new end.
      const tag = e.slot + 1;
      for (let p = 0; p < this.pages; p++) if (this.owner[p] === tag && this.spanOf[p] !== INODE_SPAN && this.spanOf[p] > lastSpan) this.obsolete(p);
    }
    // The new last page carries the size (zeros past the old data) and the mtime; with no page left,
    // a new inode carries the mtime.
    if (lastSpan < 0) this.writeInode(e, this.checkName(e.name), e.atime, this.now());
    else {
      if (this.findPage(e, lastSpan) < 0) this.reserve(1);
      const p = this.allocate();
      const [old] = this.loadSpan(e, lastSpan);
      this.scratch.fill(0, PAGE_HEADER + tailLen);
      this.writeData(p, e, lastSpan, tailLen, old);
    }
    e.size = size;
  }

  closed(): void {
    if (this.handles > 0) this.handles--;
  }

  // ----------------------------------------------------------------------------------------------
  // Allocation and garbage collection

  private isErased(b: number): boolean {
    return this.next[b] === 1;
  }

  /** A free page to program, collecting garbage when only the spare block is left. */
  private allocate(): number {
    const ppb = this.pagesPerBlock;
    for (;;) {
      const a = this.active;
      if (a >= 0 && this.next[a] < ppb) return a * ppb + this.next[a]++;
      // A partly written block first (left so by a crash or a remount), then an erased one while
      // another stays spare, else collect.
      let pick = -1, erased = 0;
      for (let b = 0; b < this.blocks; b++) {
        if (this.next[b] > 1 && this.next[b] < ppb) pick = b;
        else if (this.isErased(b)) erased++;
      }
      if (pick < 0 && erased >= 2) {
        // Least worn erased block, the next one after the active block on a tie.
        for (let i = 1; i <= this.blocks; i++) {
          const b = (Math.max(a, 0) + i) % this.blocks;
          if (this.isErased(b) && (pick < 0 || this.eraseCount[b] < this.eraseCount[pick])) pick = b;
        }
      }
      if (pick >= 0) {
        this.active = pick;
        continue;
      }
      this.collect();
    }
  }

  /** Copies the live pages of the block with the most dead pages into the spare, erases it. */
  private collect(): void {
    const ppb = this.pagesPerBlock;
    let spare = -1, victim = -1, best = 0;
    for (let b = 0; b < this.blocks; b++) {
      if (this.isErased(b)) spare = b;
      else if (this.next[b] > 0) {
        const dead = this.next[b] - 1 - this.liveIn[b] + (ppb - this.next[b]);
        if (dead > best) {
          best = dead;
          victim = b;
        }
      }
    }
    if (spare < 0 || victim < 0) throw this.noSpace();
    this.stats.gcRuns++;
    if (!allFF(this.readBlockHeader(spare, this.small12), 24, 36)) this.format(spare); // never mark twice
    // Mark the spare with the victim: a crash before the victim is erased undoes the copy at mount.
    const marker = new Uint8Array(12);
    put32(marker, 0, victim);
    put32(marker, 4, this.blockSeq[victim]);
    put32(marker, 8, ~crc32(marker, 0, 8) >>> 0);
    this.flash.program(spare * this.flash.eraseSize + 24, marker);
    this.next[spare] = 1;
    const s = this.scratch;
    for (let i = 1; i < this.next[victim]; i++) {
      const from = victim * ppb + i;
      const tag = this.owner[from];
      if (tag === NOT_LIVE) continue;
      this.flash.read(this.pageOffset(from), s);
      put32(s, 24, ERASED);
      const to = spare * ppb + this.next[spare]++;
      const off = this.pageOffset(to);
      this.flash.program(off, s);
      this.flash.program(off + 24, ZERO4);
      this.owner[to] = tag;
      this.spanOf[to] = this.spanOf[from];
      this.owner[from] = NOT_LIVE;
      this.liveIn[spare]++;
      this.liveIn[victim]--;
      const e = this.files[tag - 1];
      if (e) {
        if (e.inodePage === from) e.inodePage = to;
        if (e.hint === from) e.hint = to;
      }
      this.stats.gcCopied++;
    }
    this.active = spare;
    this.format(victim);
  }

  /** Erases block b and writes its header. */
  private format(b: number): void {
    const ppb = this.pagesPerBlock;
    for (let i = 0; i < ppb; i++) this.owner[b * ppb + i] = NOT_LIVE;
    this.next[b] = 0;
    this.liveIn[b] = 0;
    const count = this.eraseCount[b] + 1;
    this.flash.erase(b * this.flash.eraseSize);
    this.stats.erases++;
    const h = new Uint8Array(24);
    put32(h, 0, BLOCK_MAGIC);
    put32(h, 4, this.nextBlockSeq);
    put32(h, 8, count);
    put32(h, 12, this.pageSize);
    put32(h, 16, this.flash.eraseSize);
    put32(h, 20, crc32(h, 0, 20));
    this.flash.program(b * this.flash.eraseSize, h);
    this.blockSeq[b] = this.nextBlockSeq++;
    this.eraseCount[b] = count;
    this.next[b] = 1;
  }

  // ----------------------------------------------------------------------------------------------
  // Mount: rebuild the index from the flash, finishing or undoing what a crash interrupted.

  private readHeader(p: number): Header {
    const h = this.hdr;
    const s = this.scratch;
    this.flash.read(this.pageOffset(p), s.subarray(0, PAGE_HEADER));
    h.erased = allFF(s, 0, PAGE_HEADER);
    h.valid = h.live = false;
    if (h.erased || s[1] !== TYPE_CHECK || (s[0] !== TYPE_DATA && s[0] !== TYPE_INODE)) return h;
    h.type = s[0];
    h.len = s[2] | (s[3] << 8);
    h.id = get32(s, 4);
    h.seq = get32(s, 8);
    h.span = get32(s, 12);
    h.time = get32(s, 16);
    let crc = crc32(s, 0, 20);
    if (h.type === TYPE_INODE) {
      if (h.len === 0 || h.len > this.maxNameLength) return h;
      this.flash.read(this.pageOffset(p) + PAGE_HEADER, s.subarray(PAGE_HEADER, PAGE_HEADER + 4 + h.len));
      crc = crc32(s, PAGE_HEADER, PAGE_HEADER + 4 + h.len, crc);
    } else if (h.len > this.payload || h.span >= INODE_SPAN) return h;
    if (crc !== get32(s, 20)) return h;
    h.valid = true;
    h.live = get32(s, 24) !== ERASED && get32(s, 28) === ERASED;
    return h;
  }

  /** Marks a page obsolete on flash during mount (a repair). */
  private retire(p: number): void {
    this.flash.program(this.pageOffset(p) + 28, ZERO4);
    this.stats.mountRepairs++;
  }

  private readBlockHeader(b: number, into: Uint8Array): Uint8Array {
    this.flash.read(b * this.flash.eraseSize, into);
    return into;
  }

  private mount(): void {
    const ppb = this.pagesPerBlock;
    const es = this.flash.eraseSize;
    const bh = new Uint8Array(BLOCK_HEADER);
    // Block headers: valid ones first (for the block sequence), then repairs.
    const needsFormat: number[] = [];
    const markers: number[] = []; // [block, victim, victimSeq] triples
    for (let b = 0; b < this.blocks; b++) {
      this.flash.read(b * es, bh);
      const ok = get32(bh, 0) === BLOCK_MAGIC && get32(bh, 12) === this.pageSize && get32(bh, 16) === es && get32(bh, 20) === crc32(bh, 0, 20);
      if (!ok) {
        needsFormat.push(b);
        this.eraseCount[b] = get32(bh, 0) === BLOCK_MAGIC ? get32(bh, 8) : 0;
        continue;
      }
      this.blockSeq[b] = get32(bh, 4);
      this.eraseCount[b] = get32(bh, 8);
      this.next[b] = 1; // valid; the page scan below finds the real end
      if (this.blockSeq[b] >= this.nextBlockSeq) this.nextBlockSeq = this.blockSeq[b] + 1;
      if (!allFF(bh, 24, 36)) {
        if ((~crc32(bh, 24, 32) >>> 0) === get32(bh, 32)) markers.push(b, get32(bh, 24), get32(bh, 28));
        else needsFormat.push(b); // cut off while marking: nothing was copied yet
      }
    }
    for (let i = 0; i < markers.length; i += 3) {
      const [b, victim, victimSeq] = [markers[i], markers[i + 1], markers[i + 2]];
      if (victim < this.blocks && this.next[victim] === 1 && this.blockSeq[victim] === victimSeq && victim !== b) needsFormat.push(b);
    }
    for (const b of needsFormat) {
      this.stats.mountRepairs++;
      this.format(b);
    }

    // Pass 1: page headers. Sequence counters, block ends, and the newest inode of every file id.
    interface Claim { page: number; seq: number; name: string; atime: number; time: number }
    const inodes = new Map<number, Claim>();
    const CANDIDATE = 255; // temporary owner mark: a committed page not yet resolved
    let maxSeq = 0, maxId = 0, candidates = 0;
    for (let b = 0; b < this.blocks; b++) {
      if (this.next[b] !== 1) continue;
      let last = 0; // the last page with something on it
      for (let i = 1; i < ppb; i++) {
        const p = b * ppb + i;
        const h = this.readHeader(p);
        if (h.erased) continue;
        last = i;
        if (!h.valid) continue;
        if (h.seq > maxSeq) maxSeq = h.seq;
        if (h.id > maxId) maxId = h.id;
        if (!h.live) continue;
        this.owner[p] = CANDIDATE;
        candidates++;
        if (h.type === TYPE_INODE) {
          const have = inodes.get(h.id);
          if (!have || h.seq > have.seq) {
            const name = utf8Decode(this.scratch.subarray(PAGE_HEADER + 4, PAGE_HEADER + 4 + h.len));
            inodes.set(h.id, { page: p, seq: h.seq, name, atime: get32(this.scratch, PAGE_HEADER), time: h.time });
          }
        }
      }
      // Pages are programmed in order: the block continues after the last one used, unless the next
      // page was cut off while programming with its header still blank.
      let end = last + 1;
      if (end < ppb) {
        this.flash.read(this.pageOffset(b * ppb + end), this.scratch);
        if (!allFF(this.scratch, 0, this.pageSize)) end++;
      }
      this.next[b] = end;
    }
    this.seq = maxSeq;
    this.nextId = maxId + 1;
    // A block marked as a GC destination that got no page (the victim had none live, and the power
    // failed before the next write) must not be marked again: erase it.
    for (let i = 0; i < markers.length; i += 3) {
      const b = markers[i];
      if (this.next[b] === 1 && !allFF(this.readBlockHeader(b, bh), 24, 36)) {
        this.stats.mountRepairs++;
        this.format(b);
      }
    }

    // Names: the newest claim wins; every file gets a slot (the newest files when there are too many).
    const byName = new Map<string, number>(); // name -> id
    for (const [id, c] of inodes) {
      const other = byName.get(c.name);
      if (other === undefined || inodes.get(other)!.seq < c.seq) byName.set(c.name, id);
    }
    const winners = [...byName.values()].sort((x, y) => inodes.get(y)!.seq - inodes.get(x)!.seq).slice(0, this.maxFiles);
    const slotOf = new Map<number, number>();
    winners.forEach((id, slot) => {
      const c = inodes.get(id)!;
      slotOf.set(id, slot);
      this.files[slot] = { slot, id, name: c.name, inodePage: c.page, size: 0, mtime: c.time, mtimeSeq: c.seq, atime: c.atime, dataPages: 0, hint: c.page, alive: true };
    });
    inodes.clear();
    byName.clear();

    // Pass 2: keep the pages of the winners (newest inode; newest copy of each span), retire the rest.
    const keys = new Float64Array(candidates); // (slot, span, page) of data pages, to find duplicates
    let nkeys = 0;
    for (let p = 0; p < this.pages; p++) {
      if (this.owner[p] !== CANDIDATE) continue;
      this.owner[p] = NOT_LIVE;
      const h = this.readHeader(p);
      const slot = slotOf.get(h.id);
      if (slot === undefined || (h.type === TYPE_INODE && this.files[slot]!.inodePage !== p)) {
        this.retire(p);
        continue;
      }
      this.owner[p] = slot + 1;
      if (h.type === TYPE_INODE) this.spanOf[p] = INODE_SPAN;
      else {
        this.spanOf[p] = h.span;
        keys[nkeys++] = (slot * 65536 + h.span) * 65536 + p;
      }
    }
    const sorted = keys.subarray(0, nkeys).sort();
    for (let i = 1; i < nkeys; i++) {
      const a = sorted[i - 1], b = sorted[i];
      if (Math.floor(a / 65536) !== Math.floor(b / 65536)) continue;
      // Two copies of one span: the newer wins (equal seqs are GC copies of the same page).
      const pa = a % 65536, pb = b % 65536;
      if (this.owner[pa] === NOT_LIVE) continue;
      const seqA = this.readHeader(pa).seq, seqB = this.readHeader(pb).seq;
      const loser = seqA > seqB ? pb : pa;
      this.owner[loser] = NOT_LIVE;
      this.retire(loser);
      if (loser === pb) sorted[i] = a; // keep comparing against the survivor
    }

    // Pass 3: sizes, mtimes, counts.
    for (let p = 0; p < this.pages; p++) {
      const tag = this.owner[p];
      if (tag === NOT_LIVE) continue;
      this.livePages++;
      this.liveIn[Math.floor(p / ppb)]++;
      const e = this.files[tag - 1]!;
      if (this.spanOf[p] === INODE_SPAN) continue;
      const h = this.readHeader(p);
      e.dataPages++;
      const end = h.span * this.payload + h.len;
      if (end > e.size) e.size = end;
      if (h.seq > e.mtimeSeq) {
        e.mtimeSeq = h.seq;
        e.mtime = h.time;
      }
    }

    // Continue in the newest partly written block.
    for (let b = 0; b < this.blocks; b++) {
      if (this.next[b] > 1 && this.next[b] < ppb && (this.active < 0 || this.blockSeq[b] > this.blockSeq[this.active])) this.active = b;
    }
  }
}

class Handle implements FileHandle {
  private open = true;
  constructor(private readonly fs: FlashFS, private readonly e: Entry, private readonly writable: boolean) {}

  private check(write: boolean): void {
    if (!this.open) throw new StoreError("EINVAL", "file handle is closed");
    if (write && !this.writable) throw new StoreError("EINVAL", `"${this.e.name}" is open for reading`);
  }

  read(offset: number, out: Uint8Array): number {
    this.check(false);
    return this.fs.readAt(this.e, offset, out);
  }
  write(offset: number, data: Uint8Array): void {
    this.check(true);
    this.fs.writeAt(this.e, offset, data);
  }
  size(): number {
    return this.e.size;
  }
  truncate(size: number): void {
    this.check(true);
    this.fs.truncateTo(this.e, size);
  }
  sync(): void {
    this.check(false);
    // Every write is on the flash when it returns.
  }
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.fs.closed();
  }
}
