// The node host's flash store: a directory (DATA/flash) with a fixed capacity, flat like SPIFFS unless
// directories are enabled (like LittleFS). Sizes are tracked in memory so that a write that would pass
// the capacity fails with ENOSPC before it touches the disk.

import {
  closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, readdirSync,
  renameSync, rmdirSync, statSync, unlinkSync, utimesSync, writeSync,
} from "node:fs";
import { resolve, sep } from "node:path";
import { SPIFFS_MAX_NAME, SPIFFS_MAX_OPEN_FILES, StoreError, type FileHandle, type FlashStore, type Stat, type StoreErrorCode } from "../../modules/files/store.js";

/** Name limit with directories (LittleFS's LFS_NAME_MAX is 255; keep names practical). */
export const DIRS_MAX_NAME = 64;
/** Open files with directories (LittleFS has no fixed limit; keep one anyway). */
export const DIRS_MAX_OPEN_FILES = 8;

const NODE_CODES: Record<string, StoreErrorCode> = {
  ENOENT: "ENOENT", EEXIST: "EEXIST", ENOSPC: "ENOSPC", EISDIR: "EISDIR", ENOTDIR: "ENOTDIR",
  ENOTEMPTY: "ENOTEMPTY", EINVAL: "EINVAL", ENAMETOOLONG: "ENAMETOOLONG", EMFILE: "EMFILE",
};

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof StoreError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? "";
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

  constructor(root: string, readonly capacity: number, readonly directories: boolean) {
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
      return this.handle(path, fd, true);
    }
    const fd = wrap(path, () => openSync(abs, mode === "read" ? "r" : "r+"));
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw new StoreError("EISDIR", `"${path}" is a directory`);
    }
    return this.handle(path, fd, mode === "write");
  }

  private handle(path: string, fd: number, writable: boolean): FileHandle {
    const store = this;
    let closed = false;
    return {
      read(offset, out) {
        return wrap(path, () => readSync(fd, out, 0, out.length, offset));
      },
      write(offset, data) {
        if (!writable) throw new StoreError("EINVAL", `"${path}" is open for reading`);
        const size = store.sizes.get(path) ?? 0;
        const end = offset + data.length;
        store.reserve(end - size);
        wrap(path, () => {
          let done = 0;
          while (done < data.length) done += writeSync(fd, data, done, data.length - done, offset + done);
        });
        if (end > size) store.setSize(path, end);
      },
      size() {
        return store.sizes.get(path) ?? wrap(path, () => fstatSync(fd).size);
      },
      truncate(size) {
        if (!writable) throw new StoreError("EINVAL", `"${path}" is open for reading`);
        store.reserve(size - (store.sizes.get(path) ?? 0));
        wrap(path, () => ftruncateSync(fd, size));
        store.setSize(path, size);
      },
      sync() {
        wrap(path, () => fsyncSync(fd));
      },
      close() {
        if (closed) return;
        closed = true;
        wrap(path, () => closeSync(fd));
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
