// The flash store as the core sees it. Hosts implement FlashStore over their file system (a directory
// on node, SPIFFS or LittleFS on an ESP32, an emulated flash in QEMU). Calls are synchronous, as
// Moddable's `file` module is; every failure is a StoreError with a code the protocols map to their
// own status (SFTP status codes, scp error lines, command messages).

export type StoreErrorCode =
  | "ENOENT" // no such file or directory
  | "EEXIST" // already exists
  | "ENOSPC" // the flash is full
  | "EISDIR" // is a directory
  | "ENOTDIR" // not a directory
  | "ENOTEMPTY" // directory not empty
  | "EINVAL" // invalid name or argument
  | "ENAMETOOLONG" // name over the store's limit
  | "EMFILE" // too many open files
  | "EPERM" // the store cannot do that (directories on a flat store)
  | "EIO"; // anything else the host reports

export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
  }

  /** On the prototype, never an assignment to the instance's name: where the built-ins are frozen (the Moddable XS
   * linker freezes them when anything is preloaded) assigning over Error.prototype's `name` throws
   * "set name: not writable" (the override mistake). test/esp32-sim runs with frozen built-ins. */
  override get name(): string {
    return "StoreError";
  }
}

/** File times before this (2024-01-01, seconds) come from a clock that was not set: a board before
 * SNTP counts from 1970 at power-up (modules/console/device.ts CLOCK_SET_AFTER_MS is the same date). */
export const TIME_SET_AFTER_S = 1_704_067_200;

/** Seconds since 1970 for a file time, or 0 ("no time") while the host's clock is not set. SFTP
 * reports such files with mtime 0; `ls -l` shows "clock not set". */
export function fileTimeNow(): number {
  const t = Math.floor(Date.now() / 1000);
  return t >= TIME_SET_AFTER_S ? t : 0;
}

export interface Stat {
  /** Last path component. */
  name: string;
  size: number;
  /** Modification and access times, seconds since 1970. */
  mtime: number;
  atime: number;
  isDirectory: boolean;
  /** Permission bits (the store keeps none: files 0644, directories 0755). */
  mode: number;
}

export interface FileHandle {
  /** Reads up to out.length bytes at `offset` into `out`; returns the count (0 at end of file). */
  read(offset: number, out: Uint8Array): number;
  /** Writes `data` at `offset` (extending the file, zero-filled, when past its end). Throws
   * StoreError("ENOSPC") when the flash cannot hold it; then nothing of `data` is counted written. */
  write(offset: number, data: Uint8Array): void;
  size(): number;
  /** Shortens (or zero-extends) the file to `size` bytes. */
  truncate(size: number): void;
  /** Makes what was written durable. */
  sync(): void;
  close(): void;
}

export interface FlashStore {
  /** Bytes the store can hold in all. */
  readonly capacity: number;
  /** True for stores with directories (LittleFS-like); false for flat ones (SPIFFS-like). */
  readonly directories: boolean;
  /** Longest file name in bytes (SPIFFS: 31; for stores with directories, per component). */
  readonly maxNameLength: number;
  /** Files open at once (SPIFFS on ESP32 defaults to 5). */
  readonly maxOpenFiles: number;
  /** Where writing costs least in whole pieces of this many bytes at offsets that are multiples of
   * it (the data of one flash page: a write that covers part of a page rewrites the whole page).
   * Uploads gather sequential writes into such pieces (Files). Absent: every write costs alike. */
  readonly writeUnit?: number;
  /** Bytes in use. */
  used(): number;
  /** Paths are store-relative, normalized: components joined by "/", no leading "/", "" is the root. */
  stat(path: string): Stat | null;
  list(dir: string): Stat[];
  /** "read": an existing file; "write": an existing file, read-write; "create": a new empty file
   * (replacing one of that name). */
  open(path: string, mode: "read" | "write" | "create"): FileHandle;
  remove(path: string): void;
  /** Renames, replacing `to` if it exists (atomically where the file system can). */
  rename(from: string, to: string): void;
  mkdir(path: string): void;
  rmdir(path: string): void;
  setTimes(path: string, atime: number, mtime: number): void;
}

/** SPIFFS-like defaults: what an ESP32 offers out of the box. */
export const SPIFFS_MAX_NAME = 31;
export const SPIFFS_MAX_OPEN_FILES = 5;
/** A typical ESP32 filesystem partition. */
export const DEFAULT_CAPACITY = 1 << 20;
