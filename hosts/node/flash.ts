// The node host's flash store: a directory (DATA/flash) with a fixed capacity, flat like SPIFFS unless
// directories are enabled (like LittleFS). Sizes are tracked in memory so that a write that would pass
// the capacity fails with ENOSPC before it touches the disk. With write-behind (an option, off by
// default), writes to a new file (an upload's temp file) go to disk behind the caller's back
// (./writebehind.ts); a disk error they meet is thrown by the handle's next write, truncate, sync or close.

import {
  closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, readdirSync,
  renameSync, rmdirSync, statSync, unlinkSync, utimesSync, writeSync,
} from "node:fs";
import { resolve, sep } from "node:path";
import { WriterStalled, writeBehind, type WriteBehind } from "./writebehind.js";
import { SPIFFS_MAX_NAME, SPIFFS_MAX_OPEN_FILES, StoreError, type FileHandle, type FlashStore, type Stat, type StoreErrorCode } from "../../modules/files/store.js";

/** Name limit with directories (LittleFS's LFS_NAME_MAX is 255; keep names practical). */
export const DIRS_MAX_NAME = 64;
/** Open files with directories (LittleFS has no fixed limit; keep one anyway). */
export const DIRS_MAX_OPEN_FILES = 8;

const NODE_CODES: Record<string, StoreErrorCode> = {
  ENOENT: "ENOENT", EEXIST: "EEXIST", ENOSPC: "ENOSPC", EISDIR: "EISDIR", ENOTDIR: "ENOTDIR",
  ENOTEMPTY: "ENOTEMPTY", EINVAL: "EINVAL", ENAMETOOLONG: "ENAMETOOLONG", EMFILE: "EMFILE",
};

/** A disk error met behind a handle's back, as the store reports it. */
function laneError(path: string, errno: string): StoreError {
  const code = errno === "EDQUOT" || errno === "EFBIG" ? "ENOSPC" : (NODE_CODES[errno] ?? "EIO");
  return new StoreError(code, code === "ENOSPC" ? `${path}: no space left on the disk under the flash store (${errno})` : `${path}: ${errno}`);
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StoreError) throw e;
    if (e instanceof WriterStalled) throw new StoreError("EIO", `${what}: ${e.message}`);
    const code = (e as NodeJS.ErrnoException).code ?? "";
    if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") throw laneError(what, code);
    throw new StoreError(NODE_CODES[code] ?? "EIO", `${what}: ${NODE_CODES[code] ? code : (e as Error).message}`);
  }
}

export class DirectoryFlashStore implements FlashStore {
  readonly maxNameLength: number;
  readonly maxOpenFiles: number;
  private readonly root: string;
  /** Size of every file, by store path. */
  private readonly sizes = new Map<string, number>();
  private total = 0;

  /** `writeBehind`: new files (uploads) are written by the write-behind worker (./writebehind.ts). */
  constructor(root: string, readonly capacity: number, readonly directories: boolean, private readonly behindWrites = false) {
    this.root = resolve(root);
    mkdirSync(this.root, { recursive: true });
    this.maxNameLength = directories ? DIRS_MAX_NAME : SPIFFS_MAX_NAME;
    this.maxOpenFiles = directories ? DIRS_MAX_OPEN_FILES : SPIFFS_MAX_OPEN_FILES;
    this.scan("");
  }

  private scan(dir: string): void {
    for (const e of readdirSync(this.abs(dir), { withFileTypes: true })) {
      const path = dir === "" ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) this.scan(path);
      else if (e.isFile()) this.setSize(path, statSync(this.abs(path)).size);
    }
  }

  /** The file system path for a store path, refusing anything outside the root. */
  private abs(path: string): string {
    const p = resolve(this.root, path);
    if (p !== this.root && !p.startsWith(this.root + sep)) throw new StoreError("EINVAL", `"${path}" is outside the store`);
    return p;
  }

  private setSize(path: string, size: number): void {
    this.total += size - (this.sizes.get(path) ?? 0);
    this.sizes.set(path, size);
  }

  private forget(path: string): void {
    this.total -= this.sizes.get(path) ?? 0;
    this.sizes.delete(path);
  }

  /** Throws ENOSPC unless `growth` more bytes fit. */
  reserve(growth: number): void {
    if (growth > 0 && this.total + growth > this.capacity) {
      throw new StoreError("ENOSPC", `no space left on the flash (${this.capacity - this.total} of ${this.capacity} bytes free)`);
    }
  }

  used(): number {
    return this.total;
  }

  stat(path: string): Stat | null {
    const abs = this.abs(path);
    if (!existsSync(abs)) return null;
    return wrap(path, () => {
      const st = statSync(abs);
      const name = path.slice(path.lastIndexOf("/") + 1) || "/";
      return { name, size: st.isDirectory() ? 0 : st.size, mtime: Math.floor(st.mtimeMs / 1000), atime: Math.floor(st.atimeMs / 1000), isDirectory: st.isDirectory(), mode: st.isDirectory() ? 0o755 : 0o644 };
    });
  }

  list(dir: string): Stat[] {
    const names = wrap(dir || "/", () => readdirSync(this.abs(dir)));
    const out: Stat[] = [];
    for (const name of names.sort()) {
      const s = this.stat(dir === "" ? name : `${dir}/${name}`);
      if (s) out.push(s);
    }
    return out;
  }

  open(path: string, mode: "read" | "write" | "create"): FileHandle {
    const abs = this.abs(path);
    if (mode === "create") {
      // A new empty file replacing an old one frees the old one's bytes.
      const fd = wrap(path, () => openSync(abs, "w+"));
      this.setSize(path, 0);
      return this.handle(path, fd, true, this.behindWrites);
    }
    const fd = wrap(path, () => openSync(abs, mode === "read" ? "r" : "r+"));
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw new StoreError("EISDIR", `"${path}" is a directory`);
    }
    return this.handle(path, fd, mode === "write");
  }

  /** `behind`: writes go through the write-behind ring (new files only: no other handle reads them
   * while they are written, so only this handle's own reads need the ring drained first). */
  private handle(path: string, fd: number, writable: boolean, behind = false): FileHandle {
    const store = this;
    let closed = false;
    const wb: WriteBehind | null = behind ? writeBehind() : null;
    let lane = wb ? wb.takeLane() : -1;
    let queued = false;
    /** Waits until this handle's writes are on disk; throws the first one that failed. */
    const settle = () => {
      if (lane < 0) return;
      if (queued) {
        wrap(path, () => wb!.drain());
        queued = false;
      }
      check();
    };
    const check = () => {
      const e = lane < 0 ? null : wb!.error(lane);
      if (e !== null) throw laneError(path, e);
    };
    return {
      read(offset, out) {
        settle();
        return wrap(path, () => readSync(fd, out, 0, out.length, offset));
      },
      write(offset, data) {
        if (!writable) throw new StoreError("EINVAL", `"${path}" is open for reading`);
        const size = store.sizes.get(path) ?? 0;
        const end = offset + data.length;
        store.reserve(end - size);
        if (lane >= 0) {
          check();
          wrap(path, () => wb!.write(lane, fd, data, offset));
          queued = true;
        } else {
          wrap(path, () => {
            let done = 0;
            while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
          });
        }
        if (end > size) store.setSize(path, end);
      },
      size() {
        return store.sizes.get(path) ?? wrap(path, () => fstatSync(fd).size);
      },
      truncate(size) {
        if (!writable) throw new StoreError("EINVAL", `"${path}" is open for reading`);
        store.reserve(size - (store.sizes.get(path) ?? 0));
        settle();
        wrap(path, () => ftruncateSync(fd, size));
        store.setSize(path, size);
      },
      sync() {
        settle();
        wrap(path, () => fsyncSync(fd));
      },
      close() {
        if (closed) return;
        closed = true;
        // What is still queued is written first (close does not drop data); its error is thrown
        // after the file is closed (the close that finds it reports it).
        let failed: unknown = null;
        if (lane >= 0) {
          try {
            settle();
            wb!.releaseLane(lane);
          } catch (e) {
            // a failed write: the ring is drained, the lane free; a stalled writer: the lane is kept
            // out of use (its records may still be written)
            failed = e;
            if (!queued) wb!.releaseLane(lane);
          }
          lane = -1;
        }
        wrap(path, () => closeSync(fd));
        if (failed) throw failed;
      },
    };
  }

  remove(path: string): void {
    wrap(path, () => unlinkSync(this.abs(path)));
    this.forget(path);
  }

  rename(from: string, to: string): void {
    const size = this.sizes.get(from);
    wrap(`${from} -> ${to}`, () => renameSync(this.abs(from), this.abs(to)));
    if (size !== undefined) {
      this.forget(to);
      this.forget(from);
      this.setSize(to, size);
    } else {
      // A directory: move the sizes of everything under it.
      for (const [p, s] of [...this.sizes]) {
        if (p.startsWith(from + "/")) {
          this.forget(p);
          this.setSize(to + p.slice(from.length), s);
        }
      }
    }
  }

  mkdir(path: string): void {
    if (!this.directories) throw new StoreError("EPERM", "this flash store is flat (no directories)");
    wrap(path, () => mkdirSync(this.abs(path)));
  }

  rmdir(path: string): void {
    if (!this.directories) throw new StoreError("EPERM", "this flash store is flat (no directories)");
    wrap(path, () => rmdirSync(this.abs(path)));
  }

  setTimes(path: string, atime: number, mtime: number): void {
    wrap(path, () => utimesSync(this.abs(path), atime, mtime));
  }
}
