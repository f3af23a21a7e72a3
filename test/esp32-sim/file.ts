// Moddable's "file" module on ESP32 (SDK 8.2.3) over a directory on disk that stands for the
// "storage" partition: SPIFFS (modules/files/file/esp32/modFile.c over ESP-IDF's SPIFFS VFS, the
// default manifest.json) or LittleFS (modules/files/file/littlefs/modLittlefs.c,
// manifest_littlefs.json). The partition lives in the state directory and survives a reboot;
// building with the other file system formats it.
//
// SPIFFS, as mounted at /mod by the SDK:
// - one flat namespace of object names. The VFS hands SPIFFS the path after "/mod", so "/mod/x" is
//   object "/x"; an object name holds at most 31 bytes (SPIFFS_OBJ_NAME_LEN 32 with its NUL), so file
//   names up to 30 bytes can be opened. File.rename copies the whole target path into a 33-byte
//   buffer (MAX_FILENAME_LENGTH + 1): "/mod/" + name fits only for names up to 27 bytes, else
//   RangeError "cannot buffer string". System.config().maxPathLength is 32.
// - 5 files open at once (MODDEF_FILE_MAXOPEN): opening a sixth fails. A failed open always says
//   Error "file not found" (modFile.c has no other message).
// - space: 4 KiB blocks of 16 pages of 256 bytes, one lookup page per block, two blocks spare; a
//   page carries 251 bytes of data; each object needs an index header page (103 entries) and one
//   more index page per 124 data pages. System.info(): total = ((blocks - 2) * 15 + 1) * 251, used =
//   allocated pages * 251 (SPIFFS_info). A write that needs more free pages than there are writes what
//   fits and fails: Error "file write failed".
// - a seek past the end stops at the end (SPIFFS_lseek); read at or past the end throws "read past
//   end of file"; read(type, count) past the end returns what there is.
// - no directories: Directory.create/delete throw "failed". An Iterator lists every object of the
//   root (names without the leading "/").
// - mounting: every call mounts (esp_vfs_spiffs_register) when nothing holds the file system and
//   unmounts after; open files and iterators hold it. The mounts are counted ({cmd: "flash"}).
// LittleFS at "/": directories, names up to 255 bytes (LFS_NAME_MAX), no limit on open files, rename
// replaces the target, seek past the end allowed (a write there zero-fills), 4 KiB blocks, files of
// up to 16 bytes inline in their directory. Errors carry LittleFS's text in debug builds ("No space
// left on device") and "LFS_ERR: -28" in release builds (ESP32_SIM_RELEASE=1).

import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync, writeSync, constants } from "node:fs";
import { join } from "node:path";
import { REPO, bufferBytes, onCommand, settings } from "./board.js";

const littlefs = settings.manifest === "manifest_littlefs.json";

/** The storage partition's size from hosts/esp32/partitions.csv (or the test's override). */
function partitionBytes(): number {
  if (settings.storageBytes) return settings.storageBytes;
  const csv = readFileSync(join(REPO, "hosts/esp32/partitions.csv"), "utf8");
  for (const line of csv.split("\n")) {
    const cols = line.split(",").map((c) => c.trim());
    if (cols[0] === "storage") return Number(cols[4]);
  }
  throw new Error("sim: no storage partition in partitions.csv");
}

const BLOCK = 4096;
const PARTITION = partitionBytes();
const BLOCKS = Math.floor(PARTITION / BLOCK);

const flashDir = join(settings.stateDir, "flash");
const fsDir = join(flashDir, littlefs ? "littlefs" : "spiffs");
const formatMark = join(flashDir, "format");
mkdirSync(flashDir, { recursive: true });
if (!existsSync(formatMark) || readFileSync(formatMark, "utf8") !== (littlefs ? "littlefs" : "spiffs")) {
  // Mounting the other file system fails; the SDK formats the partition (format_if_mount_failed).
  rmSync(join(flashDir, "spiffs"), { recursive: true, force: true });
  rmSync(join(flashDir, "littlefs"), { recursive: true, force: true });
  writeFileSync(formatMark, littlefs ? "littlefs" : "spiffs");
}
mkdirSync(fsDir, { recursive: true });

/** Counters the test can read: mounts of the file system, files and directory iterators open now. */
const stats = { mounts: 0, useCount: 0, openFiles: 0, maxOpenFiles: 0, openIterators: 0, collected: 0 };

// XS destructors: a File or an Iterator that is garbage collected while open releases what it holds
// (xs_file_destructor, xs_file_iterator_destructor), whenever the collector gets to it.
const fileDestructor = new FinalizationRegistry<{ fd: number; obj: { name: string } }>((held) => {
  closeSync(held.fd);
  openObjects.delete(held.obj);
  stats.openFiles--;
  stats.collected++;
  stopFS();
});
const iteratorDestructor = new FinalizationRegistry<number>(() => {
  stats.openIterators--;
  stats.collected++;
  stopFS();
});

function startFS(): void {
  if (stats.useCount++ === 0) stats.mounts++;
}

function stopFS(): void {
  stats.useCount--;
}

/** Runs one SDK call's work with the file system mounted (each call starts and stops it); a
 * LittleFS error answers `failed`, as the SDK's boolean calls do. */
function whileMounted<T>(failed: T, work: () => T): T {
  startFS();
  try {
    return work();
  } catch (e) {
    if (e instanceof LfsError) return failed;
    throw e;
  } finally {
    stopFS();
  }
}

/** lfs_remove: a file, or an empty directory. */
function lfsRemove(parts: string[]): boolean {
  const st = lfsStat(parts);
  if (!st || parts.length === 0) return false;
  const disk = lfsDisk(parts);
  if (st.isDir) {
    if (readdirSync(disk).length > 0) return false;
    rmdirSync(disk);
  } else unlinkSync(disk);
  return true;
}

/** xsmcToStringBuffer(value, buffer, size) */
function stringBuffer(value: unknown, size: number): string {
  const s = String(value);
  if (Buffer.byteLength(s) + 1 > size) throw new RangeError("cannot buffer string");
  return s;
}

function bytesOfItem(item: unknown): Uint8Array {
  if (typeof item === "string") return Buffer.from(item, "utf8");
  if (typeof item === "number") return Uint8Array.of(Math.trunc(item) & 0xff);
  return bufferBytes(item);
}

// =====================================================================================
// SPIFFS
// =====================================================================================

const PAGE = 256;
const DATA_PAGE = PAGE - 5; // spiffs_page_header: obj_id u16, span_ix u16, flags u8
const HDR_IX_ENTRIES = 103; // (256 - sizeof(spiffs_page_object_ix_header) 49) / 2
const IX_ENTRIES = 124; // (256 - 8) / 2
const SPIFFS_NAME_MAX = 31; // SPIFFS_OBJ_NAME_LEN 32, NUL included
const SPIFFS_MAX_OPEN = 5;
const VFS_BASE = "/mod";
const SPIFFS_OBJ_NAME_LEN = 32;
/** Pages SPIFFS can allocate: all but the lookup pages and two spare blocks. */
const MAX_PAGES = (BLOCKS - 2) * (BLOCK / PAGE - 1);
const TOTAL_DATA_PAGES = MAX_PAGES + 1;

function pagesOf(size: number): number {
  const data = Math.ceil(size / DATA_PAGE);
  const index = 1 + Math.max(0, Math.ceil((data - HDR_IX_ENTRIES) / IX_ENTRIES));
  return data + index;
}

/** Object name -> file on disk (names may hold "/" and start with "."). */
function diskName(name: string): string {
  return join(fsDir, encodeURIComponent(name).replace(/\./g, "%2E"));
}

const objects = new Map<string, number>(); // name -> size
if (!littlefs) {
  for (const f of readdirSync(fsDir)) objects.set(decodeURIComponent(f), statSync(join(fsDir, f)).size);
}

function allocatedPages(): number {
  let n = 0;
  for (const size of objects.values()) n += pagesOf(size);
  return n;
}

/** The SPIFFS object name for a path under /mod (the VFS strips the base), or null elsewhere. */
function spiffsName(path: string): string | null {
  if (path === VFS_BASE) return "/";
  if (!path.startsWith(VFS_BASE + "/")) return null;
  return path.slice(VFS_BASE.length);
}

function nameOk(name: string): boolean {
  return Buffer.byteLength(name) <= SPIFFS_NAME_MAX;
}

// =====================================================================================
// LittleFS
// =====================================================================================

const LFS_NAME_MAX = 255;
const LFS_INLINE_MAX = 16; // min(cache_size, ...) with the SDK's lfs defines
const LFS_ERRORS: Record<number, string> = {
  [-5]: "Error during device operation",
  [-84]: "Corrupted",
  [-2]: "No directory entry",
  [-17]: "Entry already exists",
  [-20]: "Entry is not a dir",
  [-21]: "Entry is a dir",
  [-39]: "Dir is not empty",
  [-9]: "Bad file number",
  [-27]: "File too large",
  [-22]: "Invalid parameter",
  [-28]: "No space left on device",
  [-12]: "No more memory available",
  [-61]: "No data/attr available",
  [-36]: "File name too long",
};

class LfsError extends Error {
  constructor(readonly code: number) {
    super(settings.release ? `LFS_ERR: ${code}` : (LFS_ERRORS[code] ?? "LFS ERR"));
  }
}

/** A LittleFS path as its components ("/a/b" and "a/b" alike); LFS_ERR_NAMETOOLONG for a long one. */
function lfsParts(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  for (const p of parts) {
    if (Buffer.byteLength(p) > LFS_NAME_MAX) throw new LfsError(-36);
    if (p === "..") throw new LfsError(-2);
  }
  return parts;
}

function lfsDisk(parts: string[]): string {
  return join(fsDir, ...parts.map((p) => encodeURIComponent(p).replace(/^\./, "%2E")));
}

function lfsBlocksOf(size: number): number {
  return size <= LFS_INLINE_MAX ? 0 : Math.ceil(size / (BLOCK - 8));
}

function lfsUsedBlocks(): number {
  let blocks = 2; // superblock and root directory pair
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        blocks += 2;
        walk(p);
      } else blocks += lfsBlocksOf(statSync(p).size);
    }
  };
  walk(fsDir);
  return blocks;
}

function lfsStat(parts: string[]): { isDir: boolean; size: number } | null {
  const disk = lfsDisk(parts);
  if (!existsSync(disk)) {
    // a missing parent directory, or a file used as one
    for (let i = 1; i < parts.length; i++) {
      const up = lfsDisk(parts.slice(0, i));
      if (existsSync(up) && !statSync(up).isDirectory()) throw new LfsError(-20);
    }
    return null;
  }
  const st = statSync(disk);
  return { isDir: st.isDirectory(), size: st.size };
}

// =====================================================================================
// the module's classes
// =====================================================================================

/** Open SPIFFS files by object: a rename moves open descriptors along (they follow the object id). */
const openObjects = new Set<{ name: string }>();

export class File {
  #fd: number | null = null;
  #obj = { name: "" };
  /** Opened for writing ("rb+"/"wb+", LFS_O_RDWR); a read-only file refuses writes (EBADF). */
  #writable = false;
  #pos = 0;

  constructor(path: string, write?: boolean) {
    const writeMode = arguments.length >= 2 && !!write;
    const p = String(path);
    startFS();
    if (littlefs) {
      try {
        const parts = lfsParts(p);
        const st = lfsStat(parts);
        if (st?.isDir) throw new LfsError(-21);
        if (!st && !writeMode) throw new LfsError(-2);
        if (!st) {
          if (parts.length > 1 && !lfsStat(parts.slice(0, -1))) throw new LfsError(-2);
          if (parts.length === 0) throw new LfsError(-21);
        }
        this.#fd = openSync(lfsDisk(parts), writeMode ? constants.O_RDWR | constants.O_CREAT : constants.O_RDONLY);
      } catch (e) {
        stopFS();
        throw e;
      }
    } else {
      const name = spiffsName(p);
      const exists = name !== null && objects.has(name);
      // fopen "rb+" / "rb", then "wb+" (create, truncate) when writing
      const canOpen = name !== null && nameOk(name) && stats.openFiles < SPIFFS_MAX_OPEN;
      let ok = false;
      if (canOpen && exists) ok = true;
      else if (canOpen && writeMode && allocatedPages() + pagesOf(0) <= MAX_PAGES) {
        writeFileSync(diskName(name!), new Uint8Array(0));
        objects.set(name!, 0);
        ok = true;
      }
      if (!ok) {
        stopFS();
        throw new Error("file not found");
      }
      this.#fd = openSync(diskName(name!), constants.O_RDWR);
      this.#obj.name = name!;
      openObjects.add(this.#obj);
    }
    this.#writable = writeMode;
    stats.openFiles++;
    stats.maxOpenFiles = Math.max(stats.maxOpenFiles, stats.openFiles);
    fileDestructor.register(this, { fd: this.#fd, obj: this.#obj }, this);
  }

  #file(): number {
    if (this.#fd === null) throw new Error("closed");
    return this.#fd;
  }

  #size(fd: number): number {
    return littlefs ? fstatSync(fd).size : (objects.get(this.#obj.name) ?? 0);
  }

  read(type: unknown, count?: number): string | ArrayBuffer | ArrayBufferView {
    const fd = this.#file();
    const size = this.#size(fd);
    let len = arguments.length < 2 ? -1 : Math.trunc(Number(count)) || 0;
    if (len === -1 || size < this.#pos + len) {
      if (this.#pos >= size) throw new Error("read past end of file");
      len = size - this.#pos;
    }
    let target: Uint8Array;
    let result: string | ArrayBuffer | ArrayBufferView;
    if (type === String) {
      target = new Uint8Array(len);
      result = "";
    } else if (type === ArrayBuffer || littlefs) {
      // LittleFS's read has no "into a buffer" form: anything but String gives an ArrayBuffer.
      target = new Uint8Array(len);
      result = target.buffer as ArrayBuffer;
    } else {
      target = bufferBytes(type);
      if (len > target.length) len = target.length;
      result = type as ArrayBufferView;
    }
    const n = len > 0 ? readSync(fd, target, 0, len, this.#pos) : 0;
    if (n !== len) throw littlefs ? new LfsError(-5) : new Error("file read failed");
    this.#pos += len;
    if (type === String) return Buffer.from(target.subarray(0, len)).toString("utf8");
    return result;
  }

  write(...items: unknown[]): void {
    const fd = this.#file();
    for (const item of items) {
      const data = bytesOfItem(item);
      // fwrite on a "rb" stream fails (EBADF); LittleFS asserts on a write to a read-only file.
      if (!this.#writable && data.length > 0) throw littlefs ? new LfsError(-9) : new Error("file write failed");
      if (littlefs) this.#lfsWrite(fd, data);
      else this.#spiffsWrite(fd, data);
    }
  }

  #spiffsWrite(fd: number, data: Uint8Array): void {
    const size = this.#size(fd);
    const pos = this.#pos;
    // Pages this write needs: what the file grows by, plus the pages it overwrites (SPIFFS writes a
    // modified page anew before it deletes the old one; appends fill the last page in place).
    const fits = (n: number) => {
      const end = Math.max(size, pos + n);
      const grow = pagesOf(end) - pagesOf(size);
      const overwriteEnd = Math.min(pos + n, size);
      const rewritten = overwriteEnd > pos ? Math.ceil(overwriteEnd / DATA_PAGE) - Math.floor(pos / DATA_PAGE) : 0;
      return allocatedPages() + grow + rewritten <= MAX_PAGES;
    };
    let n = data.length;
    if (!fits(n)) {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (fits(mid)) lo = mid;
        else hi = mid - 1;
      }
      n = lo;
    }
    if (n > 0) writeSync(fd, data, 0, n, pos);
    this.#pos = pos + n;
    objects.set(this.#obj.name, Math.max(size, pos + n));
    if (n < data.length) throw new Error("file write failed");
  }

  #lfsWrite(fd: number, data: Uint8Array): void {
    const size = fstatSync(fd).size;
    const end = Math.max(size, this.#pos + data.length);
    if (lfsUsedBlocks() - lfsBlocksOf(size) + lfsBlocksOf(end) > BLOCKS) throw new LfsError(-28);
    if (this.#pos > size) writeSync(fd, new Uint8Array(this.#pos - size), 0, this.#pos - size, size);
    if (data.length > 0) writeSync(fd, data, 0, data.length, this.#pos);
    this.#pos += data.length;
  }

  close(): void {
    const fd = this.#file();
    closeSync(fd);
    fileDestructor.unregister(this);
    this.#fd = null;
    openObjects.delete(this.#obj);
    stats.openFiles--;
    stopFS();
  }

  get length(): number {
    return this.#size(this.#file());
  }

  get position(): number {
    this.#file();
    return this.#pos;
  }

  set position(value: number) {
    const fd = this.#file();
    const to = Math.trunc(Number(value)) || 0;
    if (littlefs) {
      if (to < 0) throw new LfsError(-22);
      this.#pos = to;
      return;
    }
    if (to < 0) return; // SPIFFS_ERR_SEEK_BOUNDS: fseek fails, the position stays
    this.#pos = Math.min(to, this.#size(fd)); // SPIFFS_ERR_END_OF_OBJECT: stops at the end
  }

  static delete(path: string): boolean {
    const p = String(path);
    return whileMounted(false, () => {
      if (littlefs) return lfsRemove(lfsParts(p));
      const name = spiffsName(p);
      if (name === null || !nameOk(name) || !objects.has(name)) return false;
      unlinkSync(diskName(name));
      objects.delete(name);
      return true;
    });
  }

  static exists(path: string): boolean {
    const p = String(path);
    return whileMounted(false, () => {
      if (littlefs) return lfsStat(lfsParts(p)) !== null;
      const name = spiffsName(p);
      return name !== null && nameOk(name) && objects.has(name);
    });
  }

  static rename(from: string, to: string): boolean {
    const bufferSize = littlefs ? LFS_NAME_MAX + 1 : SPIFFS_OBJ_NAME_LEN + 1;
    let fromPath = littlefs ? stringBuffer(from, bufferSize) : String(from);
    let toPath = stringBuffer(to, bufferSize);
    if (!toPath.startsWith("/")) {
      if (toPath.slice(1).includes("/")) throw new Error("invalid to");
      const slash = fromPath.lastIndexOf("/");
      if (slash < 0) throw new Error("invalid from");
      if (Buffer.byteLength(fromPath) + 1 > bufferSize) throw new Error("sim: File.rename copies the whole source path into its target buffer (an overflow on the board)");
      const dir = fromPath.slice(0, slash + 1);
      toPath = dir + stringBuffer(to, bufferSize - Buffer.byteLength(dir));
    }
    fromPath = String(fromPath);
    return whileMounted(false, () => {
      if (littlefs) {
        const a = lfsParts(fromPath);
        const b = lfsParts(toPath);
        const sa = lfsStat(a);
        if (!sa || a.length === 0 || b.length === 0) return false;
        if (b.length > 1 && !lfsStat(b.slice(0, -1))?.isDir) return false;
        const sb = lfsStat(b);
        if (sb) {
          if (sb.isDir !== sa.isDir) return false;
          if (sb.isDir && readdirSync(lfsDisk(b)).length > 0) return false;
          if (sb.isDir) rmdirSync(lfsDisk(b));
        }
        renameSync(lfsDisk(a), lfsDisk(b));
        return true;
      }
      const na = spiffsName(fromPath);
      const nb = spiffsName(toPath);
      if (na === null || nb === null || !nameOk(na) || !nameOk(nb) || !objects.has(na)) return false;
      if (objects.has(nb)) return false; // SPIFFS_ERR_CONFLICTING_NAME
      renameSync(diskName(na), diskName(nb));
      objects.set(nb, objects.get(na)!);
      objects.delete(na);
      for (const o of openObjects) if (o.name === na) o.name = nb;
      return true;
    });
  }
}

export class Iterator {
  #entries: { name: string; length?: number }[] | null;
  #at = 0;

  constructor(path: string) {
    const p = String(path);
    if (p.length === 0) throw new Error("bad path");
    startFS();
    if (littlefs) {
      try {
        const parts = lfsParts(p);
        const st = lfsStat(parts);
        if (!st) throw new LfsError(-2);
        if (!st.isDir) throw new LfsError(-20);
        const disk = lfsDisk(parts);
        const names = readdirSync(disk).map((f) => decodeURIComponent(f)).sort();
        this.#entries = [{ name: "." }, { name: ".." }];
        for (const name of names) {
          const s = statSync(join(disk, encodeURIComponent(name).replace(/^\./, "%2E")));
          this.#entries.push(s.isDirectory() ? { name } : { name, length: s.size });
        }
      } catch (e) {
        stopFS();
        throw e;
      }
      this.#opened();
      return;
    }
    const dirPath = p.endsWith("/") ? p : p + "/";
    const vfs = dirPath === VFS_BASE + "/" ? "/" : spiffsName(dirPath.slice(0, -1)) === null ? null : dirPath.slice(VFS_BASE.length);
    if (vfs === null) {
      stopFS();
      throw new Error("failed to open directory");
    }
    // vfs_spiffs_readdir_r: for a path other than "/", only names "PATH/..." with PATH's last byte
    // followed by another "/" (the SDK passes the path with its trailing "/", so effectively none).
    const plen = vfs.length;
    this.#entries = [];
    for (const [name, size] of objects) {
      let item = name;
      if (plen > 1) {
        if (name.slice(0, plen).toLowerCase() !== vfs.toLowerCase() || name[plen] !== "/" || name.length <= plen + 1) continue;
        item = name.slice(plen + 1);
      } else if (item.startsWith("/")) item = item.slice(1);
      this.#entries.push({ name: item.slice(0, SPIFFS_OBJ_NAME_LEN - 1), length: size });
    }
    this.#opened();
  }

  #opened(): void {
    stats.openIterators++;
    iteratorDestructor.register(this, 0, this);
  }

  next(): { name: string; length?: number } | undefined {
    if (!this.#entries) return undefined;
    if (this.#at >= this.#entries.length) {
      this.#entries = null;
      iteratorDestructor.unregister(this);
      stats.openIterators--;
      stopFS();
      return undefined;
    }
    return { ...this.#entries[this.#at++] };
  }

  [Symbol.iterator](): { next(): { value: unknown; done: boolean } } {
    return {
      next: () => {
        const value = this.next();
        return { value, done: value === undefined };
      },
    };
  }
}

export class Directory {
  static create(path: string): void {
    const p = String(path);
    startFS();
    if (!littlefs) throw new Error("failed"); // ENOTSUP; modFile.c throws before its stopFS
    try {
      const parts = lfsParts(p);
      if (parts.length === 0) return;
      const st = lfsStat(parts);
      if (st) return; // LFS_ERR_EXIST is not an error here
      if (parts.length > 1 && !lfsStat(parts.slice(0, -1))?.isDir) throw new LfsError(-2);
      if (lfsUsedBlocks() + 2 > BLOCKS) throw new LfsError(-28);
      mkdirSync(lfsDisk(parts));
    } finally {
      stopFS();
    }
  }

  static delete(path: string): boolean | void {
    const p = String(path);
    if (!littlefs) {
      startFS(); // as the SDK's SPIFFS build does, which throws without stopping it again
      throw new Error("failed");
    }
    return whileMounted(false, () => lfsRemove(lfsParts(p)));
  }
}

export class System {
  static config(): { maxPathLength: number } {
    return { maxPathLength: littlefs ? LFS_NAME_MAX : SPIFFS_OBJ_NAME_LEN };
  }

  static info(): { used: number; total: number } {
    startFS();
    try {
      if (littlefs) return { total: BLOCKS * BLOCK, used: lfsUsedBlocks() * BLOCK };
      return { total: TOTAL_DATA_PAGES * DATA_PAGE, used: allocatedPages() * DATA_PAGE };
    } finally {
      stopFS();
    }
  }
}

onCommand("flash", () => ({
  fs: littlefs ? "littlefs" : "spiffs",
  ...stats,
  info: littlefs ? { total: BLOCKS * BLOCK, used: lfsUsedBlocks() * BLOCK } : { total: TOTAL_DATA_PAGES * DATA_PAGE, used: allocatedPages() * DATA_PAGE },
}));

export default Object.freeze({ File, Iterator, System, Directory });
