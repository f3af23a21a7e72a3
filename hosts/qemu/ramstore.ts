// The QEMU firmware's fallback store when QEMU runs without the flash bank (no `-drive if=pflash,
// unit=1`; run.ts always gives one): files in RAM, lost at reboot. Flat like SPIFFS
// (names up to 31 bytes, 5 open files) with a small capacity, because it lives in the same C
// heap as everything else: each file is one Uint8Array grown in steps.

import { SPIFFS_MAX_NAME, SPIFFS_MAX_OPEN_FILES, StoreError, type FileHandle, type FlashStore, type Stat } from "../../modules/files/store.js";

/** Capacity of the RAM store: room for an scp test file, small next to the heap. */
export const RAM_STORE_CAPACITY = 64 * 1024;
/** Files grow in steps of this many bytes (fewer copies while an upload arrives). */
const GROW_STEP = 4096;

interface Entry {
  data: Uint8Array;
  size: number;
  mtime: number;
  atime: number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class RamFlashStore implements FlashStore {
  readonly directories = false;
  readonly maxNameLength = SPIFFS_MAX_NAME;
  readonly maxOpenFiles = SPIFFS_MAX_OPEN_FILES;
  private readonly files = new Map<string, Entry>();
  private openCount = 0;

  constructor(readonly capacity = RAM_STORE_CAPACITY) {}

  used(): number {
    let n = 0;
    for (const e of this.files.values()) n += e.size;
    return n;
  }

  private check(path: string): void {
    if (path === "" || path.includes("/")) throw new StoreError(path === "" ? "EISDIR" : "EPERM", `"${path}": the store is flat`);
    if (path.length > this.maxNameLength) throw new StoreError("ENAMETOOLONG", `"${path}": names are at most ${this.maxNameLength} bytes`);
  }

  private entry(path: string): Entry {
    this.check(path);
    const e = this.files.get(path);
    if (!e) throw new StoreError("ENOENT", `${path}: no such file`);
    return e;
  }

  private statOf(name: string, e: Entry): Stat {
    return { name, size: e.size, mtime: e.mtime, atime: e.atime, isDirectory: false, mode: 0o644 };
  }

  stat(path: string): Stat | null {
    if (path === "") return { name: "", size: 0, mtime: 0, atime: 0, isDirectory: true, mode: 0o755 };
    const e = this.files.get(path);
    return e ? this.statOf(path, e) : null;
  }

  list(dir: string): Stat[] {
    if (dir !== "") throw new StoreError(this.files.has(dir) ? "ENOTDIR" : "ENOENT", `${dir}: no such directory`);
    return [...this.files].map(([name, e]) => this.statOf(name, e));
  }

  open(path: string, mode: "read" | "write" | "create"): FileHandle {
    this.check(path);
    if (this.openCount >= this.maxOpenFiles) throw new StoreError("EMFILE", `at most ${this.maxOpenFiles} files open at once`);
    let e = this.files.get(path);
    if (mode === "create") {
      e = { data: new Uint8Array(0), size: 0, mtime: nowSeconds(), atime: nowSeconds() };
      this.files.set(path, e);
    } else if (!e) throw new StoreError("ENOENT", `${path}: no such file`);
    const entry = e;
    const store = this;
    let open = true;
    this.openCount++;
    const live = () => {
      if (!open) throw new StoreError("EIO", `${path}: file closed`);
    };
    const resize = (size: number) => {
      const grow = size - entry.size;
      if (grow > 0 && store.used() + grow > store.capacity) {
        throw new StoreError("ENOSPC", `no space left on the flash (${store.capacity - store.used()} of ${store.capacity} bytes free)`);
      }
      if (size > entry.data.length) {
        const bigger = new Uint8Array(Math.min(Math.max(size, entry.data.length + GROW_STEP), store.capacity));
        bigger.set(entry.data.subarray(0, entry.size));
        entry.data = bigger;
      } else if (size < entry.size) entry.data.fill(0, size, entry.size);
      entry.size = size;
    };
    return {
      read(offset: number, out: Uint8Array): number {
        live();
        if (offset >= entry.size) return 0;
        const n = Math.min(out.length, entry.size - offset);
        out.set(entry.data.subarray(offset, offset + n));
        entry.atime = nowSeconds();
        return n;
      },
      write(offset: number, data: Uint8Array): void {
        live();
        if (mode === "read") throw new StoreError("EINVAL", `${path}: opened for reading`);
        const end = offset + data.length;
        if (end > entry.size) resize(end);
        entry.data.set(data, offset);
        entry.mtime = nowSeconds();
      },
      size: () => entry.size,
      truncate(size: number): void {
        live();
        resize(size);
        entry.mtime = nowSeconds();
      },
      sync(): void {},
      close(): void {
        if (!open) return;
        open = false;
        store.openCount--;
      },
    };
  }

  remove(path: string): void {
    this.entry(path);
    this.files.delete(path);
  }

  rename(from: string, to: string): void {
    const e = this.entry(from);
    this.check(to);
    this.files.delete(from);
    this.files.set(to, e);
  }

  mkdir(path: string): void {
    throw new StoreError("EPERM", `${path}: the store is flat (no directories)`);
  }

  rmdir(path: string): void {
    throw new StoreError("EPERM", `${path}: the store is flat (no directories)`);
  }

  setTimes(path: string, atime: number, mtime: number): void {
    const e = this.entry(path);
    e.atime = atime;
    e.mtime = mtime;
  }
}
