// The flash store over Moddable's `file` module (Moddable SDK 8.2.3): SPIFFS, flat, mounted at
// /mod/ (manifest.json), or LittleFS with directories at / (manifest_littlefs.json), both in the
// "storage" partition of hosts/esp32/partitions.csv.
//
// What the `file` module lacks, and how this store makes up for it:
// - truncate: no call for it. Growing writes zeros at the end; shrinking copies the first `size`
//   bytes to a temp file, deletes the original and renames the copy into place (so it needs `size`
//   bytes free and a spare file). OpenSSH's scp/sftp always sends FSETSTAT(size = bytes written),
//   which is the file's size already: that case costs nothing.
// - writes past the end: SPIFFS's seek stops at the end of the file, so the gap is zero-filled here.
// - times: the module keeps none (SPIFFS and LittleFS as built by the SDK store no mtime). Times set
//   by clients (scp -p, sftp's setstat) are kept in RAM until reboot; files written here get the
//   wall clock's time; other files show the boot time. While the clock is not set (before SNTP,
//   `clock` gives null) both are 0, "no time": SFTP then reports mtime 0 (1970-01-01), `ls -l`
//   shows "clock not set" (modules/files/commands.ts).
// - stat: only listings carry sizes, so stat lists the parent directory.
// - mounting: the SDK mounts the file system for each call and unmounts when nothing is open, and a
//   SPIFFS mount scans the partition. One directory iterator on the root stays open to keep it
//   mounted (an open directory takes none of SPIFFS's file descriptors).
// - errors: the SDK throws Error("file write failed") on SPIFFS, LittleFS's own messages in debug
//   builds ("No space left on device") and "LFS_ERR: -28" in release builds; mapStoreError maps
//   them to StoreError codes, ENOSPC included.
// - name lengths: on SPIFFS the SDK's File.rename copies the target path into a buffer of
//   SPIFFS_OBJ_NAME_LEN + 1 bytes, so the whole path ("/mod/" + name) must fit in 32 characters:
//   names are limited to 27 bytes (uploads are renamed into place, so this limit is the real one).

import { Directory, File, Iterator, System } from "file";
import Time from "time";
import { TEMP_PREFIX } from "../../modules/files/files.js";
import { SPIFFS_MAX_NAME, SPIFFS_MAX_OPEN_FILES, StoreError, type FileHandle, type FlashStore, type Stat, type StoreErrorCode } from "../../modules/files/store.js";

/** Names with directories (LittleFS allows 255; keep them practical, as the node host does). */
export const LITTLEFS_MAX_NAME = 64;
/** Longest whole path the SDK's LittleFS calls copy (LFS_NAME_MAX + 1 byte buffers). */
export const LITTLEFS_MAX_PATH = 255;
/** Open files with LittleFS (the SDK sets no limit; each costs a malloc'd lfs_file_t). */
export const LITTLEFS_MAX_OPEN_FILES = 8;
/** Bytes moved per File.read/File.write call: each read allocates an ArrayBuffer this big at most. */
export const FLASH_PIECE = 2048;

/** Bytes of the zeros written over gaps (ModdableFlashStore.zeros()). */
const ZERO_PIECE = 512;

/** The file module's errors as StoreError codes (see the header for where the messages come from). */
export function mapStoreError(e: unknown, what: string): StoreError {
  if (e instanceof StoreError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const rules: [RegExp, StoreErrorCode][] = [
    [/No space|write failed|LFS_ERR: -28\b/, "ENOSPC"],
    [/not found|No directory entry|LFS_ERR: -2\b/, "ENOENT"],
    [/is a dir|LFS_ERR: -21\b/, "EISDIR"],
    [/not a dir|LFS_ERR: -20\b/, "ENOTDIR"],
    [/already exists|LFS_ERR: -17\b/, "EEXIST"],
    [/not empty|LFS_ERR: -39\b/, "ENOTEMPTY"],
    [/too long|LFS_ERR: -36\b|buffer/, "ENAMETOOLONG"],
  ];
  for (const [pattern, code] of rules) if (pattern.test(message)) return new StoreError(code, `${what}: ${message}`);
  return new StoreError("EIO", `${what}: ${message}`);
}

function attempt<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw mapStoreError(e, what);
  }
}

/** File.write takes byte views on ESP32 (the natives use xsmcGetBufferReadable, which accepts
 * Uint8Array); the SDK's typings only list ArrayBuffer, hence the cast, which saves a copy. */
function asBuffer(view: Uint8Array): ArrayBuffer {
  return view as unknown as ArrayBuffer;
}

/** Writes one piece. Linux port only (mcconfig -p lin, hosts/esp32/lin): the SDK's lin modFile.c
 * takes ArrayBuffers only and refuses a view ("not an ArrayBuffer instance") before writing
 * anything; after the first refusal (store.viewsRefused), pieces go as ArrayBuffers: a view of a
 * whole buffer as its buffer, a part copied. The ESP32 natives take the view, so boards never copy. */
function writePiece(store: ModdableFlashStore, f: File, view: Uint8Array): void {
  if (!store.viewsRefused) {
    try {
      f.write(asBuffer(view));
      return;
    } catch (e) {
      if (!(e instanceof Error) || !e.message.includes("ArrayBuffer")) throw e;
      store.viewsRefused = true;
    }
  }
  f.write(view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? (view.buffer as ArrayBuffer) : (view.slice().buffer as ArrayBuffer));
}

/** Linux port only: the SDK's lin System.info() returns {} (a host folder has no partition size),
 * so the store reports this capacity and counts the bytes of its files as used. */
export const HOST_FOLDER_CAPACITY = 16 * 1024 * 1024;

export class ModdableFlashStore implements FlashStore {
  readonly capacity: number;
  readonly maxNameLength: number;
  readonly maxOpenFiles: number;
  private readonly times = new Map<string, { atime: number; mtime: number }>();
  /** Milliseconds since the epoch, or null while the clock is not set. */
  private readonly clock: () => number | null;
  private openFiles = 0;
  private tempCounter = 0;
  /** Set once File.write refused a byte view (the SDK's Linux port only, see writePiece). */
  viewsRefused = false;
  /** Keeps the file system mounted (see the header). */
  private readonly mountPin: Iterator;
  /** Zeros written over gaps; made on first use, in RAM (made while the module body runs, it would be
   * preloaded into flash, a source flash writes should not read from), and kept here rather than in a
   * module-level `let`, which xsl would keep in RAM as an alias. */
  private zeroPiece: Uint8Array | null = null;

  /** root: config.file.root ("/mod/" on SPIFFS, "/" on LittleFS), ending with "/". */
  constructor(private readonly root: string, readonly directories: boolean, clock?: () => number | null) {
    this.clock = clock ?? (() => Date.now());
    if (!root.endsWith("/")) this.root = root + "/";
    this.mountPin = attempt("mount", () => new Iterator(this.root));
    this.capacity = attempt("info", () => System.info().total) ?? HOST_FOLDER_CAPACITY;
    if (directories) {
      this.maxNameLength = LITTLEFS_MAX_NAME;
      this.maxOpenFiles = LITTLEFS_MAX_OPEN_FILES;
    } else {
      const maxPath = attempt("config", () => System.config().maxPathLength);
      this.maxNameLength = Math.min(SPIFFS_MAX_NAME, maxPath - this.root.length);
      // One of SPIFFS's descriptors stays free for truncate's copy.
      this.maxOpenFiles = SPIFFS_MAX_OPEN_FILES - 1;
    }
  }

  /** ZERO_PIECE zero bytes (never written to), shared by the store's handles. */
  zeros(): Uint8Array {
    return (this.zeroPiece ??= new Uint8Array(ZERO_PIECE));
  }

  /** The file module's path for a store path. */
  private abs(path: string): string {
    const full = path === "" ? this.root : this.root + path;
    if (this.directories && full.length > LITTLEFS_MAX_PATH) throw new StoreError("ENAMETOOLONG", `"${path.slice(0, 40)}...": path longer than ${LITTLEFS_MAX_PATH} bytes`);
    return full;
  }

  used(): number {
    const used = attempt("info", () => System.info().used) as number | undefined;
    if (used !== undefined) return used;
    // Linux port only (see HOST_FOLDER_CAPACITY): the files' bytes, top level and folders.
    let total = 0;
    const pending = [""];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      this.scan(dir, (name, length) => {
        if (length === undefined) pending.push(dir === "" ? name : `${dir}/${name}`);
        else total += length;
        return true;
      });
    }
    return total;
  }

  /** Throws ENOSPC unless `growth` more bytes fit (the file system may still refuse a little
   * earlier: its metadata takes room too; writes map that refusal to ENOSPC as well). */
  private reserve(growth: number): void {
    if (growth <= 0) return;
    const used = this.used();
    if (used + growth > this.capacity) throw new StoreError("ENOSPC", `no space left on the flash (${this.capacity - used} of ${this.capacity} bytes free)`);
  }

  /** Seconds now, 0 while the clock is not set. */
  private nowSeconds(): number {
    const t = this.clock();
    return t === null ? 0 : Math.floor(t / 1000);
  }

  private timesOf(path: string): { atime: number; mtime: number } {
    const kept = this.times.get(path);
    if (kept) return kept;
    // The boot time, once the clock tells it (Time.ticks: milliseconds since boot).
    const t = this.clock();
    const boot = t === null ? 0 : Math.max(0, Math.floor((t - Time.ticks) / 1000));
    return { atime: boot, mtime: boot };
  }

  private entry(dir: string, name: string, length: number | undefined): Stat {
    const path = dir === "" ? name : `${dir}/${name}`;
    const t = this.timesOf(path);
    const isDirectory = length === undefined;
    return { name, size: isDirectory ? 0 : length, mtime: t.mtime, atime: t.atime, isDirectory, mode: isDirectory ? 0o755 : 0o644 };
  }

  stat(path: string): Stat | null {
    if (path === "") {
      const t = this.timesOf("");
      return { name: "/", size: 0, mtime: t.mtime, atime: t.atime, isDirectory: true, mode: 0o755 };
    }
    const slash = path.lastIndexOf("/");
    const dir = slash < 0 ? "" : path.slice(0, slash);
    const name = path.slice(slash + 1);
    let found: Stat | null = null;
    try {
      this.scan(dir, (n, length) => {
        if (n === name) found = this.entry(dir, n, length);
        return found === null;
      });
    } catch (e) {
      const err = mapStoreError(e, path);
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return null;
      throw err;
    }
    return found;
  }

  /** Calls `each` for the entries of `dir` until it returns false. */
  private scan(dir: string, each: (name: string, length: number | undefined) => boolean): void {
    const it = new Iterator(this.abs(dir));
    for (let e = it.next(); e !== undefined; e = it.next()) {
      if (e.name === "." || e.name === ".." || e.name.includes("/")) continue; // LittleFS's dot entries
      if (!each(e.name, e.length)) break;
    }
  }

  list(dir: string): Stat[] {
    if (dir !== "") {
      const s = this.stat(dir);
      if (!s) throw new StoreError("ENOENT", `"${dir}": no such directory`);
      if (!s.isDirectory) throw new StoreError("ENOTDIR", `"${dir}" is not a directory`);
    }
    const out: Stat[] = [];
    attempt(dir || "/", () =>
      this.scan(dir, (name, length) => {
        out.push(this.entry(dir, name, length));
        return true;
      }),
    );
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  open(path: string, mode: "read" | "write" | "create"): FileHandle {
    if (this.openFiles >= this.maxOpenFiles) throw new StoreError("EMFILE", `${this.maxOpenFiles} files are open already`);
    const abs = this.abs(path);
    const s = this.stat(path);
    if (s?.isDirectory) throw new StoreError("EISDIR", `"${path}" is a directory`);
    if (mode === "create") {
      if (s) attempt(path, () => File.delete(abs));
    } else if (!s) throw new StoreError("ENOENT", `"${path}": no such file`);
    const file = attempt(path, () => new File(abs, mode !== "read"));
    this.openFiles++;
    if (mode === "create") this.touch(path);
    return new ModdableFileHandle(this, path, file, mode !== "read");
  }

  /** Called by handles. */
  closed(): void {
    this.openFiles--;
  }

  touch(path: string): void {
    const now = this.nowSeconds();
    this.times.set(path, { atime: now, mtime: now });
  }

  /** Growth check for handles. */
  check(growth: number): void {
    this.reserve(growth);
  }

  /** A temp name beside `path` (removed by Files.recover() after a crash: it has TEMP_PREFIX). */
  tempBeside(path: string): string {
    const slash = path.lastIndexOf("/");
    const dir = slash < 0 ? "" : path.slice(0, slash + 1);
    this.tempCounter = (this.tempCounter + 1) % 0x100000;
    return `${dir}${TEMP_PREFIX}tr${this.tempCounter.toString(16)}`;
  }

  pathOf(path: string): string {
    return this.abs(path);
  }

  remove(path: string): void {
    const s = this.stat(path);
    if (!s) throw new StoreError("ENOENT", `"${path}": no such file`);
    if (s.isDirectory) throw new StoreError("EISDIR", `"${path}" is a directory`);
    if (!attempt(path, () => File.delete(this.abs(path)))) throw new StoreError("EIO", `"${path}": delete failed`);
    this.times.delete(path);
  }

  rename(from: string, to: string): void {
    const s = this.stat(from);
    if (!s) throw new StoreError("ENOENT", `"${from}": no such file`);
    const target = this.stat(to);
    if (target?.isDirectory && !s.isDirectory) throw new StoreError("EISDIR", `"${to}" is a directory`);
    // LittleFS replaces the target atomically. SPIFFS refuses an existing target, so it is deleted
    // first: a power cut between the two steps loses the old file (the new one is still the temp
    // file, which the next start removes).
    if (!this.directories && target) attempt(to, () => File.delete(this.abs(to)));
    if (!attempt(`${from} -> ${to}`, () => File.rename(this.abs(from), this.abs(to)))) throw new StoreError("EIO", `"${from}" -> "${to}": rename failed`);
    const t = this.times.get(from);
    this.times.delete(from);
    if (t) this.times.set(to, t);
  }

  mkdir(path: string): void {
    if (!this.directories) throw new StoreError("EPERM", "this flash store is flat (no directories)");
    if (this.stat(path)) throw new StoreError("EEXIST", `"${path}" exists`);
    attempt(path, () => Directory.create(this.abs(path)));
    this.touch(path);
  }

  rmdir(path: string): void {
    if (!this.directories) throw new StoreError("EPERM", "this flash store is flat (no directories)");
    const s = this.stat(path);
    if (!s) throw new StoreError("ENOENT", `"${path}": no such directory`);
    if (!s.isDirectory) throw new StoreError("ENOTDIR", `"${path}" is not a directory`);
    if (this.list(path).length > 0) throw new StoreError("ENOTEMPTY", `"${path}" is not empty`);
    attempt(path, () => Directory.delete(this.abs(path)));
    if (this.stat(path)) throw new StoreError("EIO", `"${path}": rmdir failed`);
    this.times.delete(path);
  }

  setTimes(path: string, atime: number, mtime: number): void {
    if (!this.stat(path)) throw new StoreError("ENOENT", `"${path}": no such file`);
    this.times.set(path, { atime, mtime });
  }

  /** Releases the mount pin (the store is unusable afterwards). */
  close(): void {
    // Running the iterator to its end closes its directory and lets the SDK unmount.
    while (this.mountPin.next() !== undefined);
  }
}

class ModdableFileHandle implements FileHandle {
  private done = false;

  constructor(private readonly store: ModdableFlashStore, private readonly path: string, private file: File, private readonly writable: boolean) {}

  private live(): File {
    if (this.done) throw new StoreError("EINVAL", `"${this.path}" is closed`);
    return this.file;
  }

  read(offset: number, out: Uint8Array): number {
    const f = this.live();
    const size = attempt(this.path, () => f.length);
    if (offset >= size || out.length === 0) return 0;
    const total = Math.min(out.length, size - offset);
    let done = 0;
    attempt(this.path, () => {
      while (done < total) {
        const n = Math.min(FLASH_PIECE, total - done);
        f.position = offset + done;
        out.set(new Uint8Array(f.read(ArrayBuffer, n)), done);
        done += n;
      }
    });
    return total;
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.writable) throw new StoreError("EINVAL", `"${this.path}" is open for reading`);
    const f = this.live();
    const size = attempt(this.path, () => f.length);
    this.store.check(offset + data.length - size);
    attempt(this.path, () => {
      if (offset > size) this.fill(f, size, offset);
      for (let done = 0; done < data.length; done += FLASH_PIECE) {
        f.position = offset + done;
        writePiece(this.store, f, data.subarray(done, Math.min(done + FLASH_PIECE, data.length)));
      }
    });
    this.store.touch(this.path);
  }

  /** Writes zeros over [from, to). */
  private fill(f: File, from: number, to: number): void {
    const z = this.store.zeros();
    for (let at = from; at < to; at += ZERO_PIECE) {
      f.position = at;
      writePiece(this.store, f, to - at >= ZERO_PIECE ? z : z.subarray(0, to - at));
    }
  }

  size(): number {
    const f = this.live();
    return attempt(this.path, () => f.length);
  }

  truncate(size: number): void {
    if (!this.writable) throw new StoreError("EINVAL", `"${this.path}" is open for reading`);
    const f = this.live();
    const current = attempt(this.path, () => f.length);
    if (size === current) return;
    if (size > current) {
      this.store.check(size - current);
      attempt(this.path, () => this.fill(f, current, size));
      this.store.touch(this.path);
      return;
    }
    // Shrink by copying (see the header): the copy, then delete and rename, then reopen.
    this.store.check(size);
    const temp = this.store.tempBeside(this.path);
    const tempAbs = this.store.pathOf(temp);
    const abs = this.store.pathOf(this.path);
    attempt(`truncate ${this.path}`, () => {
      const copy = new File(tempAbs, true);
      try {
        for (let at = 0; at < size; at += FLASH_PIECE) {
          f.position = at;
          copy.write(f.read(ArrayBuffer, Math.min(FLASH_PIECE, size - at)));
        }
      } catch (e) {
        copy.close();
        File.delete(tempAbs);
        throw e;
      }
      copy.close();
      f.close();
      File.delete(abs);
      if (!File.rename(tempAbs, abs)) throw new Error(`rename of ${temp} failed`);
      this.file = new File(abs, true);
    });
    this.store.touch(this.path);
  }

  sync(): void {
    // The SDK's SPIFFS write flushes each call; LittleFS commits on close. Close and reopen.
    const f = this.live();
    const abs = this.store.pathOf(this.path);
    attempt(this.path, () => {
      f.close();
      this.file = new File(abs, this.writable);
    });
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.store.closed();
    try {
      this.file.close();
    } catch {
      // already closed by a failed truncate/sync
    }
  }
}
