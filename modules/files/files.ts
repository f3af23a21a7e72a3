// File services over a FlashStore, shared by SFTP, legacy scp and the device commands: path rules,
// atomic uploads (written aside, swapped in when complete), open-file accounting, and recovery of
// uploads cut off by a crash or a lost connection.

import { StoreError, type FileHandle, type FlashStore, type Stat } from "./store.js";

/** Names of uploads in progress start with this; they are hidden from listings and removed at start.
 * Short, so that it fits SPIFFS's 31-byte names with the 8 hex digits after it. */
export const TEMP_PREFIX = ".~up";
/** Longest path we accept in any request, whatever the store (bounds work on hostile input). */
export const MAX_PATH = 1024;

/** Resolves a client path (absolute or relative to the root, as scp/sftp send it) to a store path.
 * Refuses "..", NUL, empty components where they matter, names over the store's limit, directories
 * on a flat store, and our temp names. */
export function resolvePath(store: FlashStore, text: string): string {
  if (text.length > MAX_PATH) throw new StoreError("ENAMETOOLONG", `path longer than ${MAX_PATH} bytes`);
  if (text.includes("\0")) throw new StoreError("EINVAL", "path contains a NUL byte");
  const parts: string[] = [];
  for (const part of text.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw new StoreError("EINVAL", `"${text}": ".." is not allowed`);
    if (utf8Length(part) > store.maxNameLength) {
      throw new StoreError("ENAMETOOLONG", `"${part.slice(0, 40)}": names are limited to ${store.maxNameLength} bytes on this flash`);
    }
    if (part.startsWith(TEMP_PREFIX)) throw new StoreError("EINVAL", `"${part}": names starting with ${TEMP_PREFIX} are reserved`);
    parts.push(part);
  }
  if (parts.length > 1 && !store.directories) {
    throw new StoreError("EPERM", `"${text}": this flash store is flat (no directories)`);
  }
  return parts.join("/");
}

export function joinPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** An upload in progress, as SFTP and scp drive it. */
export interface Upload {
  /** The store path it replaces when committed. */
  readonly target: string;
  /** The handle SFTP reads back through (a file opened read-write) and syncs (fsync@openssh.com). */
  readonly handle: FileHandle;
  write(offset: number, data: Uint8Array): void;
  size(): number;
  truncate(size: number): void;
  /** Makes the upload take effect; throws (the upload is then dropped) when it cannot. */
  commit(times?: { atime: number; mtime: number }): void;
  /** Drops the upload; what was there stays as it was. */
  abort(): void;
}

/** A path that is not a file of the store but takes uploads itself (`/ota`: a firmware image goes
 * to the passive OTA slot, modules/files/ota.ts). It shadows a store file of the same name. */
export interface SpecialFile {
  stat(): Stat;
  beginUpload(): Upload;
  /** Why it cannot be read (downloads, `cat`). */
  readonly unreadable: string;
}

/**
 * An upload's handle on a store with a write unit (FlashStore.writeUnit: a flash page's data): the
 * writes of an upload come in pieces that do not line up with the store's pages (SFTP's 4 KiB
 * requests, scp's channel packets, against 992-byte pages), so every piece would end in a partly
 * written page that the next piece reads back and rewrites. This handle passes whole units straight
 * through and keeps the unfinished last unit (at most one unit of RAM per upload) until the next
 * sequential write completes it; any other call (read, size change, sync, close, a write elsewhere)
 * writes it out first. What it keeps belongs to the upload's temp file, which nothing else sees
 * before commit (which syncs), so no written and committed byte is at risk. Space is checked as the
 * store itself does, before anything of a write is written: a write that the flash cannot hold,
 * kept bytes included, throws ENOSPC at once. Only when another writer takes the space meanwhile
 * does writing out the kept bytes fail later (a later write, or commit); the upload then fails whole.
 */
export class GatheringHandle implements FileHandle {
  private kept: Uint8Array | null = null;
  /** File offset of kept[0] (a multiple of the unit) and the bytes kept. */
  private keptAt = 0;
  private keptLength = 0;

  constructor(private readonly inner: FileHandle, private readonly unit: number, private readonly store: FlashStore) {}

  /** ENOSPC unless the units [first, last] that the file has no data for yet fit, and unit `also`
   * (-1: none) besides. */
  private reserve(first: number, last: number, also: number): void {
    const u = this.unit;
    const have = Math.ceil(this.inner.size() / u); // units below the inner file's end have a page
    const growth = Math.max(0, last - Math.max(first, have) + 1) + (also >= have ? 1 : 0);
    const free = this.store.capacity - this.store.used();
    if (growth > 0 && growth * u > free) {
      throw new StoreError("ENOSPC", `no space left on the flash (${Math.max(0, free)} of ${this.store.capacity} bytes free)`);
    }
  }

  write(offset: number, data: Uint8Array): void {
    const u = this.unit;
    const n = data.length;
    if (n === 0) return;
    const continuing = this.keptLength > 0 && offset === this.keptAt + this.keptLength;
    const keptUnit = this.keptLength > 0 ? this.keptAt / u : -1;
    const first = continuing ? keptUnit : Math.floor(offset / u);
    const last = Math.floor((offset + n - 1) / u);
    // Kept bytes written out elsewhere need their own page unless this write covers that unit.
    this.reserve(first, last, this.keptLength > 0 && !continuing && (keptUnit < first || keptUnit > last) ? keptUnit : -1);
    let from = 0;
    if (this.keptLength > 0) {
      if (!continuing) this.flush();
      else {
        // Continue the kept unit; once whole it goes out.
        const take = Math.min(u - this.keptLength, n);
        this.kept!.set(take === n ? data : data.subarray(0, take), this.keptLength);
        this.keptLength += take;
        from = take;
        if (this.keptLength < u) return;
        this.flush();
      }
    }
    let at = offset + from;
    // A write that starts inside a unit (not after kept bytes): the rest of that unit as it is.
    const inside = at % u;
    if (inside !== 0) {
      const take = Math.min(u - inside, n - from);
      this.inner.write(at, data.subarray(from, from + take));
      from += take;
      at += take;
    }
    const whole = Math.floor((n - from) / u) * u;
    if (whole > 0) {
      this.inner.write(at, from === 0 && whole === n ? data : data.subarray(from, from + whole));
      from += whole;
      at += whole;
    }
    if (from < n) {
      this.kept ??= new Uint8Array(u);
      this.kept.set(data.subarray(from), 0);
      this.keptAt = at;
      this.keptLength = n - from;
    }
  }

  /** Writes out the kept bytes (dropped if that fails: the call reports the error). */
  flush(): void {
    const n = this.keptLength;
    if (n === 0) return;
    this.keptLength = 0;
    this.inner.write(this.keptAt, this.kept!.subarray(0, n));
  }

  /** Forgets the kept bytes (the upload is being dropped). */
  discard(): void {
    this.keptLength = 0;
  }

  read(offset: number, out: Uint8Array): number {
    this.flush();
    return this.inner.read(offset, out);
  }
  size(): number {
    return Math.max(this.inner.size(), this.keptLength > 0 ? this.keptAt + this.keptLength : 0);
  }
  truncate(size: number): void {
    this.flush();
    this.inner.truncate(size);
  }
  sync(): void {
    this.flush();
    this.inner.sync();
  }
  close(): void {
    try {
      this.flush();
    } finally {
      this.inner.close();
    }
  }
}

/** An upload to the store: writes go to a temp file beside the target; commit() swaps it in. On a
 * store with a write unit the writes are gathered into whole units (GatheringHandle). */
export class StoreUpload implements Upload {
  private closed = false;
  readonly handle: FileHandle;
  private readonly gathering: GatheringHandle | null;
  constructor(
    private readonly files: Files,
    readonly target: string,
    readonly temp: string,
    handle: FileHandle,
  ) {
    const unit = files.store.writeUnit ?? 0;
    this.gathering = unit > 0 ? new GatheringHandle(handle, unit, files.store) : null;
    this.handle = this.gathering ?? handle;
  }

  write(offset: number, data: Uint8Array): void {
    try {
      this.handle.write(offset, data);
    } catch (e) {
      throw this.explained(e, offset + data.length);
    }
  }
  size(): number {
    return this.handle.size();
  }
  truncate(size: number): void {
    try {
      this.handle.truncate(size);
    } catch (e) {
      throw this.explained(e, size);
    }
  }

  /** A full flash that removing the old target would make room for says so (Files.replaceHint). */
  private explained(e: unknown, end: number): unknown {
    if (!(e instanceof StoreError) || e.code !== "ENOSPC") return e;
    const hint = this.files.replaceHint(this.target, end - this.handle.size());
    return hint === "" ? e : new StoreError("ENOSPC", e.message + hint);
  }

  /** Makes the upload the target file (durably), with times if given. */
  commit(times?: { atime: number; mtime: number }): void {
    if (this.closed) return;
    this.closed = true;
    let released = false;
    try {
      this.handle.sync();
      this.handle.close();
      released = true;
      this.files.release();
      this.files.store.rename(this.temp, this.target);
      if (times) this.files.store.setTimes(this.target, times.atime, times.mtime);
    } catch (e) {
      if (!released) {
        // sync or close failed: the handle and its open-file slot must not leak
        try {
          this.handle.close();
        } catch {
          // the temp is removed below all the same
        }
        this.files.release();
      }
      this.files.removeQuietly(this.temp);
      throw e;
    }
  }

  /** Drops the upload; the target keeps its old content. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.gathering?.discard();
    try {
      this.handle.close();
    } catch {
      // closing a handle on a failing store: the temp is removed below all the same
    }
    this.files.release();
    this.files.removeQuietly(this.temp);
  }
}

/** Largest piece of file a transfer moves per request by default: OpenSSH's SFTP client default
 * READ/WRITE length. */
export const DEFAULT_TRANSFER_LENGTH = 32768;
/** The transfer length of the firmware hosts (hosts/esp32, hosts/qemu): an SFTP request of 4 KiB
 * (a flash sector) instead of 32 KiB; measured by bench/creation.ts, it keeps ~60 KB of buffers out
 * of a board's heap during a download after an upload. */
export const BOARD_TRANSFER_LENGTH = 4096;
/** The smallest transfer length a host may set (SFTP requests smaller than this would be mostly
 * headers). */
export const MIN_TRANSFER_LENGTH = 1024;

export interface FilesOptions {
  /** Largest READ answered and largest WRITE asked for (SFTP's limits@openssh.com, which OpenSSH's
   * client follows): what one request holds in memory. Boards use a few KiB; longer WRITEs from
   * clients that ignore the limits are still taken. Default DEFAULT_TRANSFER_LENGTH. */
  transferLength?: number;
}

export class Files {
  private open = 0;
  private counter = 0;
  readonly transferLength: number;
  /** Special paths (store paths as resolvePath gives them) that take uploads themselves. */
  private readonly specials = new Map<string, SpecialFile>();

  constructor(readonly store: FlashStore, private readonly random: () => number, options: FilesOptions = {}) {
    const n = options.transferLength ?? DEFAULT_TRANSFER_LENGTH;
    if (!(n >= MIN_TRANSFER_LENGTH && n <= DEFAULT_TRANSFER_LENGTH)) {
      throw new RangeError(`transferLength ${n}: between ${MIN_TRANSFER_LENGTH} and ${DEFAULT_TRANSFER_LENGTH}`);
    }
    this.transferLength = n;
  }

  /** Makes `path` (a store path: "ota" for "/ota") a special file. */
  addSpecial(path: string, file: SpecialFile): void {
    this.specials.set(path, file);
  }

  /** The special file at `path`, if any. */
  special(path: string): SpecialFile | undefined {
    return this.specials.size === 0 ? undefined : this.specials.get(path);
  }

  /** Removes temp files left by uploads that never completed (call at start). Returns their count. */
  recover(): number {
    // A loop over a list of folders still to visit, not a recursive walk: each level of recursion
    // costs XS stack slots, and the boards' stack is 512 slots (a deep tree overflowed it on the
    // SDK's Linux port, whose store is a host folder).
    let removed = 0;
    const pending = [""];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      for (const s of this.store.list(dir)) {
        const path = joinPath(dir, s.name);
        if (s.name.startsWith(TEMP_PREFIX)) {
          this.removeQuietly(path);
          removed++;
        } else if (s.isDirectory) pending.push(path);
      }
    }
    return removed;
  }

  /** Listing without temp files. */
  list(dir: string): Stat[] {
    return this.store.list(dir).filter((s) => !s.name.startsWith(TEMP_PREFIX));
  }

  stat(path: string): Stat | null {
    if (path === "") return { name: "/", size: 0, mtime: 0, atime: 0, isDirectory: true, mode: 0o755 };
    const special = this.special(path);
    return special ? special.stat() : this.store.stat(path);
  }

  private take(): void {
    if (this.open >= this.store.maxOpenFiles) {
      throw new StoreError("EMFILE", `at most ${this.store.maxOpenFiles} files can be open at once on this flash`);
    }
    this.open++;
  }

  release(): void {
    if (this.open > 0) this.open--;
  }

  /** Opens an existing file for reading; close it with closeRead(). */
  openRead(path: string): FileHandle {
    const special = this.special(path);
    if (special) throw new StoreError("EINVAL", `"/${path}": ${special.unreadable}`);
    const s = this.store.stat(path);
    if (!s) throw new StoreError("ENOENT", `"${path}": no such file`);
    if (s.isDirectory) throw new StoreError("EISDIR", `"${path}" is a directory`);
    this.take();
    try {
      return this.store.open(path, "read");
    } catch (e) {
      this.release();
      throw e;
    }
  }

  closeRead(handle: FileHandle): void {
    handle.close();
    this.release();
  }

  /**
   * Starts an upload to `path`. `keep` copies the current content first (SFTP opens without TRUNC,
   * appends); otherwise the upload starts empty. The old file stays as it is until commit().
   */
  beginUpload(path: string, keep: boolean): Upload {
    if (path === "") throw new StoreError("EISDIR", "the root is a directory");
    const special = this.special(path);
    if (special) return special.beginUpload();
    const existing = this.store.stat(path);
    if (existing?.isDirectory) throw new StoreError("EISDIR", `"${path}" is a directory`);
    const dir = parentOf(path);
    if (dir !== "") {
      const d = this.store.stat(dir);
      if (!d) throw new StoreError("ENOENT", `"${dir}": no such directory`);
      if (!d.isDirectory) throw new StoreError("ENOTDIR", `"${dir}" is not a directory`);
    }
    this.take();
    const temp = joinPath(dir, `${TEMP_PREFIX}${((this.random() ^ ++this.counter) >>> 0).toString(16).padStart(8, "0")}`);
    let handle: FileHandle;
    try {
      handle = this.store.open(temp, "create");
    } catch (e) {
      this.release();
      throw e;
    }
    const upload = new StoreUpload(this, path, temp, handle);
    if (keep && existing) {
      try {
        const from = this.store.open(path, "read");
        try {
          const buf = new Uint8Array(COPY_CHUNK);
          for (let off = 0; ; ) {
            const n = from.read(off, buf);
            if (n === 0) break;
            upload.handle.write(off, n === buf.length ? buf : buf.subarray(0, n));
            off += n;
          }
        } finally {
          from.close();
        }
      } catch (e) {
        upload.abort();
        throw e;
      }
    }
    return upload;
  }

  removeQuietly(path: string): void {
    try {
      this.store.remove(path);
    } catch {
      // already gone, or the store is failing: recover() retries at the next start
    }
  }

  /** For a full flash while `path` is replaced by an upload needing `growth` more bytes: since the
   * new copy is written beside the old one, says so when removing the old one would make room
   * ("; the old ... remove it first to make room"), else "". */
  replaceHint(path: string, growth: number): string {
    const old = this.store.stat(path);
    if (!old || old.isDirectory || old.size === 0 || growth > this.usage().free + old.size) return "";
    return `; the old "${path}" (${old.size} bytes) stays until the new copy is complete: remove it first to make room`;
  }

  /** Bytes used and free, for `df` and statvfs. */
  usage(): { capacity: number; used: number; free: number } {
    const used = Math.min(this.store.used(), this.store.capacity);
    return { capacity: this.store.capacity, used, free: this.store.capacity - used };
  }
}

/** Chunk for copying a file into an upload (SFTP open without TRUNC). */
const COPY_CHUNK = 4096;
