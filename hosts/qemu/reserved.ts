// A FlashStore that keeps some names for the firmware itself: files whose names start with
// RESERVED_PREFIX (the host key, the authorized keys) are invisible and untouchable through the
// store it gives the file protocols (listings, stat, open, rename, remove, times), while the
// firmware reads and writes them through the inner store. Space they use still counts in df.

import { StoreError, type FileHandle, type FlashStore, type Stat } from "../../modules/files/store.js";

export const RESERVED_PREFIX = ".sys~";

export class ReservedNames implements FlashStore {
  readonly capacity: number;
  readonly directories: boolean;
  readonly maxNameLength: number;
  readonly maxOpenFiles: number;
  readonly writeUnit?: number;

  constructor(private readonly inner: FlashStore) {
    this.capacity = inner.capacity;
    this.directories = inner.directories;
    this.maxNameLength = inner.maxNameLength;
    this.maxOpenFiles = inner.maxOpenFiles;
    this.writeUnit = inner.writeUnit;
  }

  private guard(path: string): string {
    if (path.split("/").some((p) => p.startsWith(RESERVED_PREFIX))) throw new StoreError("EINVAL", `"${path}": names starting with ${RESERVED_PREFIX} are reserved`);
    return path;
  }

  used(): number {
    return this.inner.used();
  }
  stat(path: string): Stat | null {
    return path.split("/").some((p) => p.startsWith(RESERVED_PREFIX)) ? null : this.inner.stat(path);
  }
  list(dir: string): Stat[] {
    return this.inner.list(this.guard(dir)).filter((s) => !s.name.startsWith(RESERVED_PREFIX));
  }
  open(path: string, mode: "read" | "write" | "create"): FileHandle {
    return this.inner.open(this.guard(path), mode);
  }
  remove(path: string): void {
    this.inner.remove(this.guard(path));
  }
  rename(from: string, to: string): void {
    this.inner.rename(this.guard(from), this.guard(to));
  }
  mkdir(path: string): void {
    this.inner.mkdir(this.guard(path));
  }
  rmdir(path: string): void {
    this.inner.rmdir(this.guard(path));
  }
  setTimes(path: string, atime: number, mtime: number): void {
    this.inner.setTimes(this.guard(path), atime, mtime);
  }
}

/** The whole content of `path` in `store`, or null when there is no such file. */
export function readReserved(store: FlashStore, path: string, maxBytes: number): Uint8Array | null {
  if (!store.stat(path)) return null;
  const h = store.open(path, "read");
  try {
    const size = h.size();
    if (size > maxBytes) throw new StoreError("EINVAL", `${path}: ${size} bytes, at most ${maxBytes} expected`);
    const out = new Uint8Array(size);
    let n = 0;
    while (n < size) {
      const k = h.read(n, out.subarray(n));
      if (k <= 0) break;
      n += k;
    }
    return n === size ? out : null;
  } finally {
    h.close();
  }
}

/** Replaces `path` in `store` with `data` (written beside it, then renamed into place). */
export function writeReserved(store: FlashStore, path: string, data: Uint8Array): void {
  const temp = `${path}.new`;
  const h = store.open(temp, "create");
  try {
    h.write(0, data);
    h.sync();
  } finally {
    h.close();
  }
  store.rename(temp, path);
}
