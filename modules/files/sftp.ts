// SFTP v3 subsystem (draft-ietf-secsh-filexfer-02) with the OpenSSH extensions its clients use
// (posix-rename, statvfs, fsync, limits, expand-path: OpenSSH's PROTOCOL file). What `scp` (9.x, SFTP
// mode), `sftp`, PuTTY's `psftp` and the npm ssh2 client send is served over the flash store.
//
// Framing: uint32 length, byte type, uint32 request id (INIT/VERSION have none). Requests are handled
// synchronously, in order, straight from the data() view when a packet lies whole in it (WRITE data
// goes to the store without a copy) and from one bounded input buffer when it straddles calls.
//
// Backpressure: each request is answered at once into one reused writer. When the channel does not
// take the whole answer, the rest waits (a view of that writer) and no further request is handled
// until writable() drained it; input arriving meanwhile is held unconsumed (bounded by
// MAX_HELD_INPUT), so the client's window closes. (The channel calls writable() only after a write it
// could not take, which is why the answer is written first rather than checked against
// writableBytes: memory stays bounded by one answer, at most a full READ, all the same.)
//
// Long READs: a READ is answered in full up to MAX_READ_LENGTH even where the Files' transferLength
// (a board's 4 KiB) is smaller, because libssh2 (curl's sftp://) takes a short answer for a regular
// file as a protocol error ("Read Packet At Unexpected Offset"). The answer's header announces the
// whole count; its data goes out one transferLength piece at a time, each read from the store into
// the same writer once the channel took the one before, so memory stays one piece.
//
// Uploads: OPEN for writing starts a Files upload (a temp file beside the target); CLOSE commits it,
// which is when the target is replaced. An upload with any failed WRITE is dropped at CLOSE, so a full
// flash never leaves a partial file. Opening an existing file without TRUNC keeps its content, but
// lazily: the old bytes are copied only into the ranges the client did not write, when they are
// needed (a READ, an FSETSTAT size, CLOSE). OpenSSH's scp opens without TRUNC, writes the whole file
// and sets the size, so replacing a file copies nothing and costs flash for the new content only.

import type { SessionContext, SessionProgram } from "../ssh/session.js";
import { SshReader, SshWriter, WireError, utf8Decode, utf8Encode } from "../ssh/wire.js";
import { DEFAULT_TRANSFER_LENGTH, MAX_PATH, resolvePath, type Files, type Upload } from "./files.js";
import { StoreError, fileTimeNow, type FileHandle, type Stat } from "./store.js";

export const SFTP_VERSION = 3;
/** Largest READ answered (longer ones are shortened, as the protocol allows) and largest WRITE
 * accepted: OpenSSH's client default. limits@openssh.com advertises the Files' transferLength, at
 * most these, so that OpenSSH's client asks for no more than a board wants to hold per request;
 * a client that ignores it (libssh2 asks for 30,000 bytes) still gets whole answers, streamed. */
export const MAX_READ_LENGTH = DEFAULT_TRANSFER_LENGTH;
export const MAX_WRITE_LENGTH = DEFAULT_TRANSFER_LENGTH;
/** Largest request (the uint32 length field's value): a WRITE of MAX_WRITE_LENGTH with room for its
 * header and a handle or path of any sane length. Longer requests are refused (see MAX_SKIP). */
export const MAX_PACKET_LENGTH = MAX_WRITE_LENGTH + 1024;
/** Input held while our answers are backed up (the client sends but does not read). A client that
 * sends more than this without reading is cut off. */
export const MAX_HELD_INPUT = 2 * (MAX_PACKET_LENGTH + 4);
/** Requests over MAX_PACKET_LENGTH but up to this are skipped and answered with a failure; a longer
 * length field means the stream is garbage and the session ends. */
export const MAX_SKIP = 1 << 20;
/** Bytes of NAME entries per READDIR answer (and entries, below). */
export const READDIR_BATCH_BYTES = 8192;
export const READDIR_BATCH_ENTRIES = 64;
/** Largest answer we build is a full READ (13 + the read length); READDIR stays below. The answer
 * writer stops growing there (doubling would make it 64 KiB). */
const READ_ANSWER_HEADER = 13;
/** max-open-handles in the limits@openssh.com reply: 0, "no limit stated". OpenSSH's client (9.2 measured)
 * caps its requests in flight at this value, and the store's 5 open files made a download a
 * ping-pong of 5 READs (server and client each idle half the time, 0.68x the npm ssh2 server). The
 * open-file limit still holds (EMFILE); requests in flight cost us nothing but window, as they are
 * handled one at a time. */
export const LIMITS_OPEN_HANDLES = 0;
/** Directory handles per session (file handles are bounded by the store's open-file limit). */
export const MAX_DIR_HANDLES = 4;
/** Separate written ranges tracked for an upload that keeps old content; past this the old content is
 * copied in at once. */
const MAX_RANGES = 32;
/** Bytes per step when old content is copied into an upload. */
const COPY_CHUNK = 4096;

// Packet types.
const FXP_INIT = 1, FXP_VERSION = 2, FXP_OPEN = 3, FXP_CLOSE = 4, FXP_READ = 5, FXP_WRITE = 6;
const FXP_LSTAT = 7, FXP_FSTAT = 8, FXP_SETSTAT = 9, FXP_FSETSTAT = 10, FXP_OPENDIR = 11;
const FXP_READDIR = 12, FXP_REMOVE = 13, FXP_MKDIR = 14, FXP_RMDIR = 15, FXP_REALPATH = 16;
const FXP_STAT = 17, FXP_RENAME = 18, FXP_READLINK = 19, FXP_SYMLINK = 20;
const FXP_STATUS = 101, FXP_HANDLE = 102, FXP_DATA = 103, FXP_NAME = 104, FXP_ATTRS = 105;
const FXP_EXTENDED = 200, FXP_EXTENDED_REPLY = 201;

// Status codes.
export const FX_OK = 0, FX_EOF = 1, FX_NO_SUCH_FILE = 2, FX_PERMISSION_DENIED = 3, FX_FAILURE = 4;
export const FX_BAD_MESSAGE = 5, FX_OP_UNSUPPORTED = 8;

// OPEN pflags.
const FXF_READ = 1, FXF_WRITE = 2, FXF_APPEND = 4, FXF_CREAT = 8, FXF_TRUNC = 0x10, FXF_EXCL = 0x20;

// Attribute flags.
const ATTR_SIZE = 1, ATTR_UIDGID = 2, ATTR_PERMISSIONS = 4, ATTR_ACMODTIME = 8, ATTR_EXTENDED = 0x80000000;

const S_IFREG = 0o100000, S_IFDIR = 0o040000;

/** Extensions announced in VERSION (name, version). */
const EXTENSIONS: readonly (readonly [string, string])[] = Object.freeze([
  Object.freeze(["posix-rename@openssh.com", "1"] as const),
  Object.freeze(["statvfs@openssh.com", "2"] as const),
  Object.freeze(["fsync@openssh.com", "1"] as const),
  Object.freeze(["limits@openssh.com", "1"] as const),
  Object.freeze(["expand-path@openssh.com", "1"] as const),
]);

const FLAT_MESSAGE = "this flash store is flat (no directories)";

const MONTHS: readonly string[] = Object.freeze(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]);

/**
 * An upload that may keep the old file's content without copying it up front: `ranges` lists what the
 * client wrote inside the old size (sorted, merged [start, end) pairs); the gaps are filled from the
 * old file when the content is needed as a whole.
 */
class PendingFile {
  private ranges: number[] = [];
  /** Size of the old content still to merge, or -1 when there is none (new file, TRUNC, or merged). */
  private oldSize: number;

  constructor(
    readonly upload: Upload,
    private readonly files: Files,
    oldSize: number,
    private readonly scratch: () => Uint8Array,
  ) {
    this.oldSize = oldSize;
  }

  write(offset: number, data: Uint8Array): void {
    this.upload.write(offset, data);
    if (this.oldSize >= 0) this.cover(offset, offset + data.length);
  }

  size(): number {
    return Math.max(this.upload.size(), this.oldSize);
  }

  /** The content as a whole is needed (a read, a sync): merge the old bytes in now. */
  settle(): void {
    if (this.oldSize >= 0) this.fill(Infinity);
  }

  truncate(size: number): void {
    if (this.oldSize >= 0) this.fill(size);
    this.upload.truncate(size);
  }

  commit(times?: { atime: number; mtime: number }): void {
    this.settle();
    this.upload.commit(times);
  }

  abort(): void {
    this.upload.abort();
  }

  private cover(a: number, b: number): void {
    if (b > this.oldSize) b = this.oldSize;
    if (a >= b) return;
    const r = this.ranges;
    const n = r.length;
    // Sequential writes only ever extend the last range.
    if (n >= 2 && a >= r[n - 2] && a <= r[n - 1]) {
      if (b > r[n - 1]) r[n - 1] = b;
      return;
    }
    let i = 0;
    while (i < n && r[i + 1] < a) i += 2;
    let j = i, s = a, e = b;
    while (j < n && r[j] <= b) {
      if (r[j] < s) s = r[j];
      if (r[j + 1] > e) e = r[j + 1];
      j += 2;
    }
    r.splice(i, j - i, s, e);
    if (r.length > 2 * MAX_RANGES) this.fill(Infinity);
  }

  /** Copies the old content into the gaps below `limit`; afterwards the old content is forgotten
   * (the caller truncates to `limit`, or limit covers it all). */
  private fill(limit: number): void {
    const end = Math.min(this.oldSize, limit);
    const r = this.ranges;
    let src: FileHandle | null = null;
    try {
      let pos = 0;
      for (let i = 0; pos < end; i += 2) {
        const gapEnd = i < r.length ? Math.min(r[i], end) : end;
        if (gapEnd > pos) {
          if (!src) src = this.openOld();
          if (!src || !this.copy(src, pos, gapEnd)) break;
        }
        if (i >= r.length) break;
        if (r[i + 1] > pos) pos = r[i + 1];
      }
    } finally {
      src?.close();
    }
    // The old file shrank or went away meanwhile: the missing part reads as zeros.
    if (this.upload.size() < end) this.upload.truncate(end);
    this.oldSize = -1;
    r.length = 0;
  }

  private openOld(): FileHandle | null {
    try {
      return this.files.store.open(this.upload.target, "read");
    } catch (e) {
      if (e instanceof StoreError && e.code === "ENOENT") return null;
      throw e;
    }
  }

  /** Copies [from, to) of the old file to the same place in the upload; false at its early end. */
  private copy(src: FileHandle, from: number, to: number): boolean {
    const buf = this.scratch();
    while (from < to) {
      const want = Math.min(buf.length, to - from);
      const n = src.read(from, want === buf.length ? buf : buf.subarray(0, want));
      if (n <= 0) return false;
      this.upload.write(from, n === buf.length ? buf : buf.subarray(0, n));
      from += n;
    }
    return true;
  }
}

/** What a READ answer is read from: a stored file's handle, or the keys file's bytes. */
type ReadSource = Pick<FileHandle, "read" | "size">;

const KIND_FREE = 0, KIND_READ = 1, KIND_WRITE = 2, KIND_DIR = 3;
/** Handles of the authorized keys at .ssh/authorized_keys (KeysFile): a copy read, a new version written. */
const KIND_KEYS_READ = 4, KIND_KEYS_WRITE = 5;

/**
 * The authorized keys as a file at `.ssh/authorized_keys` (and a directory `.ssh`), so that
 * `ssh-copy-id -s` works: it reads that file, appends its keys, and writes the whole file back.
 * `read` gives the current text; `write` takes a whole new version (keys it does not hold yet are
 * added; nothing is removed) and returns an error or null; `mayWrite` says why this login may not
 * change the keys, or null. Paths under `.ssh` never reach the flash store.
 */
export interface KeysFile {
  read(ctx: SessionContext): string;
  write(ctx: SessionContext, text: string): string | null;
  mayWrite(ctx: SessionContext): string | null;
}
/** Longest authorized_keys text taken through SFTP. */
export const MAX_KEYS_FILE_BYTES = 64 * 1024;
const KEYS_DIR_NAME = ".ssh";
const KEYS_FILE_NAME = "authorized_keys";
const VIRTUAL_NONE = 0, VIRTUAL_DIR = 1, VIRTUAL_FILE = 2;

/** VIRTUAL_DIR for ".ssh", VIRTUAL_FILE for ".ssh/authorized_keys" (any leading "/", "." parts). */
function virtualOf(text: string): number {
  let first = "", second = "", n = 0;
  for (const p of text.split("/")) {
    if (p === "" || p === ".") continue;
    if (n === 0) first = p;
    else if (n === 1) second = p;
    n++;
  }
  if (first !== KEYS_DIR_NAME) return VIRTUAL_NONE;
  if (n === 1) return VIRTUAL_DIR;
  return n === 2 && second === KEYS_FILE_NAME ? VIRTUAL_FILE : VIRTUAL_NONE;
}

interface Slot {
  kind: number;
  /** Bumped at each use of the slot, so stale handles are refused. */
  gen: number;
  path: string;
  read: FileHandle | null;
  file: PendingFile | null;
  canRead: boolean;
  append: boolean;
  /** Why the upload cannot be committed (a write failed), or null. */
  failed: string | null;
  hasTimes: boolean;
  atime: number;
  mtime: number;
  entries: Stat[] | null;
  next: number;
  /** KIND_KEYS_*: the text read, or the new version written so far (its first `length` bytes). */
  bytes: Uint8Array | null;
  length: number;
}

function newSlot(): Slot {
  return { kind: KIND_FREE, gen: 0, path: "", read: null, file: null, canRead: false, append: false, failed: null, hasTimes: false, atime: 0, mtime: 0, entries: null, next: 0, bytes: null, length: 0 };
}

/** "/name" for a store path, as clients see it. */
function shown(path: string): string {
  return "/" + path;
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** `ls -l` style line as OpenSSH's sftp-server makes it (numeric owner 0, one link). */
function longName(s: Stat, now: number): string {
  const m = s.mode;
  let perms = s.isDirectory ? "d" : "-";
  const rwx = "rwxrwxrwx";
  for (let i = 0; i < 9; i++) perms += m & (0o400 >> i) ? rwx[i] : "-";
  const d = new Date(s.mtime * 1000);
  const day = `${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())}`;
  const recent = s.mtime > now - 182 * 86400 && s.mtime <= now;
  const when = recent ? `${day} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}` : `${day}  ${d.getUTCFullYear()}`;
  return `${perms}    1 0        0        ${String(s.size).padStart(8)} ${when} ${s.name}`;
}

/** Normalizes a client path for REALPATH: relative to the root "/", "." dropped, ".." clamped at
 * the root (this only names a path; every operation still goes through resolvePath). */
function realPath(text: string): string {
  if (text.length > MAX_PATH) throw new StoreError("ENAMETOOLONG", `path longer than ${MAX_PATH} bytes`);
  if (text.includes("\0")) throw new StoreError("EINVAL", "path contains a NUL byte");
  const parts: string[] = [];
  for (const p of text.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return "/" + parts.join("/");
}

function statusFor(code: StoreError["code"]): number {
  switch (code) {
    case "ENOENT":
      return FX_NO_SUCH_FILE;
    case "EPERM":
      return FX_PERMISSION_DENIED;
    default:
      return FX_FAILURE;
  }
}

export function sftpServer(ctx: SessionContext, files: Files, keysFile?: KeysFile): SessionProgram {
  const store = files.store;
  /** READ answers are cut to this and limits@openssh.com asks for WRITEs of it (Files keeps it at
   * most MAX_READ_LENGTH = MAX_WRITE_LENGTH). */
  const pieceLength = files.transferLength;
  const readdirBytes = Math.min(READDIR_BATCH_BYTES, pieceLength);
  const out = new SshWriter(1024, READ_ANSWER_HEADER + pieceLength);
  /** Answer bytes the channel has not taken yet (a view of `out`); requests wait while set. */
  let pending: Uint8Array | null = null;
  /** Input not handled yet: the rest of a straddling packet, or all input while answers wait. */
  let inbuf = new Uint8Array(0);
  let held = 0;
  /** Bytes at the front of inbuf whose window was re-opened already (a partial request taken while
   * answers flow: a window smaller than one WRITE must not stall the client). */
  let acked = 0;
  /** Bytes of a refused, oversized request still to drop. */
  let skip = 0;
  let inited = false;
  let eofIn = false;
  let done = false;
  let busy = false;
  /** A long READ answer still streaming: its handle, where its next piece starts, bytes still owed. */
  let streamHandle: ReadSource | null = null;
  let streamOffset = 0;
  let streamLeft = 0;
  /** Answers still going out: no further request is handled until they are gone. */
  const blocked = () => pending !== null || streamLeft > 0;
  let scratchBuf: Uint8Array | null = null;
  const scratch = () => (scratchBuf ??= new Uint8Array(COPY_CHUNK));
  const slots: Slot[] = [];
  const maxSlots = Math.min(255, store.maxOpenFiles + MAX_DIR_HANDLES);
  const attrs = { flags: 0, size: 0, atime: 0, mtime: 0 };

  // ---- output ----

  const begin = (type: number, id: number) => {
    out.reset().uint32(0).byte(type);
    if (id >= 0) out.uint32(id);
  };

  /** Sends the answer in `out`; `len` is its length field when more of it follows (a streamed READ). */
  const send = (len = out.pos - 4) => {
    const b = out.buf;
    b[0] = len >>> 24;
    b[1] = len >>> 16;
    b[2] = len >>> 8;
    b[3] = len;
    const v = out.view();
    const n = ctx.write(v);
    if (n < v.length) pending = v.subarray(n);
  };

  const status = (id: number, code: number, message: string) => {
    begin(FXP_STATUS, id);
    out.uint32(code);
    if (message === "") out.uint32(0);
    else out.text(message);
    out.uint32(0); // language tag
    send();
  };

  const ok = (id: number) => status(id, FX_OK, "");

  /** A line on stderr: OpenSSH's clients show only a generic text for a status code, so what went
   * wrong (a full flash, a refused name) is told there too (dropped when stderr is backed up). A
   * failed upload says so once: its later WRITEs fail without a note. */
  const note = (message: string) => {
    ctx.writeErr(utf8Encode(`sftp: ${message}\n`));
  };

  const fail = (id: number, e: unknown, quiet = false) => {
    let code: number, message: string;
    if (e instanceof StoreError) {
      code = statusFor(e.code);
      message = e.code === "EMFILE" ? `too many open files: ${e.message}` : e.message;
    } else if (e instanceof WireError) {
      code = FX_BAD_MESSAGE;
      message = `malformed request: ${e.message}`;
    } else {
      code = FX_FAILURE;
      message = `internal error: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (!quiet && code !== FX_NO_SUCH_FILE) note(message);
    status(id, code, message);
  };

  const putAttrs = (size: number, isDir: boolean, mode: number, atime: number, mtime: number) => {
    out.uint32(ATTR_SIZE | ATTR_UIDGID | ATTR_PERMISSIONS | ATTR_ACMODTIME).uint64(size).uint32(0).uint32(0);
    out.uint32((isDir ? S_IFDIR : S_IFREG) | (mode & 0o7777)).uint32(atime >>> 0).uint32(mtime >>> 0);
  };

  const putStat = (s: Stat) => putAttrs(s.size, s.isDirectory, s.mode, s.atime, s.mtime);

  // ---- handles ----

  const putHandle = (index: number) => {
    const g = slots[index].gen;
    out.uint32(4).byte(index).byte(g >>> 16).byte(g >>> 8).byte(g);
  };

  const slotOf = (r: SshReader): Slot => {
    const h = r.string();
    if (h.length === 4) {
      const s = slots[h[0]];
      if (s && s.kind !== KIND_FREE && s.gen === (((h[1] << 16) | (h[2] << 8) | h[3]) >>> 0)) return s;
    }
    throw new StoreError("EINVAL", "invalid handle (not open, or already closed)");
  };

  const freeIndex = (kind: number): number => {
    if (kind === KIND_DIR) {
      let dirs = 0;
      for (const s of slots) if (s.kind === KIND_DIR) dirs++;
      if (dirs >= MAX_DIR_HANDLES) throw new StoreError("EMFILE", `at most ${MAX_DIR_HANDLES} directories can be open at once in one session`);
    }
    for (let i = 0; i < slots.length; i++) if (slots[i].kind === KIND_FREE) return i;
    if (slots.length < maxSlots) {
      slots.push(newSlot());
      return slots.length - 1;
    }
    throw new StoreError("EMFILE", `at most ${maxSlots} handles can be open at once in one session`);
  };

  const take = (index: number, kind: number, path: string): Slot => {
    const s = slots[index];
    s.kind = kind;
    s.gen = (s.gen + 1) & 0xffffff;
    s.path = path;
    return s;
  };

  const release = (s: Slot) => {
    s.kind = KIND_FREE;
    s.read = null;
    s.file = null;
    s.entries = null;
    s.bytes = null;
    s.length = 0;
    s.failed = null;
    s.hasTimes = false;
    s.canRead = s.append = false;
    s.next = 0;
  };

  /** Closes everything: uploads not closed by the client are dropped, the old files intact. */
  const cleanup = () => {
    for (const s of slots) {
      try {
        if (s.kind === KIND_READ && s.read) files.closeRead(s.read);
        else if (s.kind === KIND_WRITE && s.file) s.file.abort();
      } catch {
        // a failing store: recover() removes any temp file at the next start
      }
      release(s);
    }
  };

  const finish = (code: number) => {
    if (done) return;
    done = true;
    cleanup();
    if (held > acked) ctx.consume(held - acked);
    held = 0;
    acked = 0;
    pending = null;
    streamLeft = 0;
    streamHandle = null;
    ctx.exit(code);
  };

  const fatal = (message: string) => {
    note(message);
    finish(1);
  };

  // ---- requests ----

  const readAttrs = (r: SshReader) => {
    const f = r.uint32();
    attrs.flags = f;
    if (f & ATTR_SIZE) attrs.size = r.uint64();
    if (f & ATTR_UIDGID) {
      r.uint32();
      r.uint32();
    }
    if (f & ATTR_PERMISSIONS) r.uint32();
    if (f & ATTR_ACMODTIME) {
      attrs.atime = r.uint32();
      attrs.mtime = r.uint32();
    }
    if (f & ATTR_EXTENDED) {
      const n = r.uint32();
      for (let i = 0; i < n; i++) {
        r.string();
        r.string();
      }
    }
  };

  const statOrFail = (path: string): Stat => {
    const st = files.stat(path);
    if (!st) throw new StoreError("ENOENT", `"${shown(path)}": no such file or directory`);
    return st;
  };

  // ---- .ssh/authorized_keys (KeysFile) ----

  const virtual = (text: string) => (keysFile ? virtualOf(text) : VIRTUAL_NONE);
  const keysPath = "/" + KEYS_DIR_NAME + "/" + KEYS_FILE_NAME;
  const keysNow = () => utf8Encode(keysFile!.read(ctx));

  const virtualStat = (id: number, v: number) => {
    begin(FXP_ATTRS, id);
    const now = Math.floor(Date.now() / 1000);
    if (v === VIRTUAL_DIR) putAttrs(0, true, 0o700, now, now);
    else putAttrs(keysNow().length, false, 0o600, now, now);
    send();
  };

  const virtualOpen = (id: number, v: number, pflags: number) => {
    if (v === VIRTUAL_DIR) throw new StoreError("EISDIR", `"/${KEYS_DIR_NAME}" is a directory`);
    const index = freeIndex(KIND_READ);
    if ((pflags & (FXF_WRITE | FXF_APPEND)) === 0) {
      const s = take(index, KIND_KEYS_READ, keysPath);
      s.bytes = keysNow();
      s.length = s.bytes.length;
    } else {
      const refused = keysFile!.mayWrite(ctx);
      if (refused !== null) throw new StoreError("EPERM", `${keysPath}: ${refused}`);
      const s = take(index, KIND_KEYS_WRITE, keysPath);
      s.append = (pflags & FXF_APPEND) !== 0;
      s.bytes = pflags & FXF_TRUNC ? new Uint8Array(1024) : keysNow();
      s.length = pflags & FXF_TRUNC ? 0 : s.bytes.length;
    }
    begin(FXP_HANDLE, id);
    putHandle(index);
    send();
  };

  /** Makes room for `size` bytes in a written keys file (bounded by MAX_KEYS_FILE_BYTES). */
  const keysRoom = (s: Slot, size: number) => {
    if (size > MAX_KEYS_FILE_BYTES) throw new StoreError("EINVAL", `${keysPath}: longer than ${MAX_KEYS_FILE_BYTES} bytes`);
    const b = s.bytes!;
    if (size <= b.length) return;
    const next = new Uint8Array(Math.min(MAX_KEYS_FILE_BYTES, Math.max(size, b.length * 2)));
    next.set(b.subarray(0, s.length));
    s.bytes = next;
  };

  const keysWrite = (id: number, s: Slot, offset: number, data: Uint8Array) => {
    if (s.failed !== null) return status(id, FX_FAILURE, s.failed);
    const at = s.append ? s.length : offset;
    try {
      keysRoom(s, at + data.length);
    } catch (e) {
      s.failed = (e as Error).message;
      throw e;
    }
    if (at > s.length) s.bytes!.fill(0, s.length, at);
    s.bytes!.set(data, at);
    if (at + data.length > s.length) s.length = at + data.length;
    ok(id);
  };

  const keysClose = (id: number, s: Slot) => {
    const text = s.kind === KIND_KEYS_WRITE ? utf8Decode(s.bytes!.subarray(0, s.length)) : null;
    const failed = s.failed;
    release(s);
    if (text === null) return ok(id);
    if (failed !== null) return status(id, FX_FAILURE, `${keysPath} not changed: ${failed}`);
    const error = keysFile!.write(ctx, text);
    if (error !== null) {
      const message = `${keysPath} not changed: ${error}`;
      note(message);
      return status(id, FX_FAILURE, message);
    }
    ok(id);
  };

  /** The keys file read as a file: a READ longer than a piece is answered whole (streamed), as a
   * stored file's is (libssh2 takes a short answer as an error). */
  const keysSource = (s: Slot): ReadSource => ({
    size: () => s.length,
    read: (offset, into) => {
      const n = Math.min(into.length, s.length - offset);
      if (n <= 0) return 0;
      into.set(s.bytes!.subarray(offset, offset + n));
      return n;
    },
  });

  /** The requests on a virtual path that are not reads, writes or stats. */
  const virtualOther = (id: number, v: number, what: string) => {
    if (what === "setstat") {
      // chmod (ssh-copy-id -s runs chmod 700 .ssh, chmod 600 .ssh/authorized_keys): modes do not
      // exist here; a size change would be a write, which goes through OPEN.
      if (attrs.flags & ATTR_SIZE) throw new StoreError("EPERM", `${keysPath}: write the whole file to change the keys`);
      return ok(id);
    }
    if (what === "mkdir") throw new StoreError("EEXIST", `"/${KEYS_DIR_NAME}" already exists`);
    if (what === "opendir" && v === VIRTUAL_DIR) {
      const index = freeIndex(KIND_DIR);
      const now = Math.floor(Date.now() / 1000);
      const s = take(index, KIND_DIR, KEYS_DIR_NAME);
      s.entries = [{ name: KEYS_FILE_NAME, size: keysNow().length, mtime: now, atime: now, isDirectory: false, mode: 0o600 }];
      s.next = 0;
      begin(FXP_HANDLE, id);
      putHandle(index);
      return send();
    }
    if (what === "opendir") throw new StoreError("ENOTDIR", `"${keysPath}" is not a directory`);
    throw new StoreError("EPERM", `"/${v === VIRTUAL_DIR ? KEYS_DIR_NAME : KEYS_DIR_NAME + "/" + KEYS_FILE_NAME}" holds the authorized keys: it cannot be removed or renamed (use the keys command)`);
  };

  const sendVersion = () => {
    begin(FXP_VERSION, -1);
    out.uint32(SFTP_VERSION);
    for (const [name, version] of EXTENSIONS) out.text(name).text(version);
    send();
  };

  const open = (id: number, name: string, pflags: number) => {
    const v = virtual(name);
    if (v !== VIRTUAL_NONE) return virtualOpen(id, v, pflags);
    const path = resolvePath(store, name);
    if (path === "") throw new StoreError("EISDIR", `"/" is a directory`);
    const st = files.stat(path);
    if (st?.isDirectory) throw new StoreError("EISDIR", `"${shown(path)}" is a directory`);
    const index = freeIndex(KIND_READ);
    if ((pflags & (FXF_WRITE | FXF_APPEND)) === 0) {
      if (!st) throw new StoreError("ENOENT", `"${shown(path)}": no such file`);
      const h = files.openRead(path);
      take(index, KIND_READ, path).read = h;
    } else {
      if (st && pflags & FXF_CREAT && pflags & FXF_EXCL) throw new StoreError("EEXIST", `"${shown(path)}": file exists`);
      if (!st && !(pflags & FXF_CREAT)) throw new StoreError("ENOENT", `"${shown(path)}": no such file`);
      const keep = st !== null && !(pflags & FXF_TRUNC);
      const append = (pflags & FXF_APPEND) !== 0;
      // Appending needs the old content at once; other opens merge it lazily.
      const upload = files.beginUpload(path, keep && append);
      const s = take(index, KIND_WRITE, path);
      s.file = new PendingFile(upload, files, keep && !append && st ? st.size : -1, scratch);
      s.append = append;
      s.canRead = (pflags & FXF_READ) !== 0;
    }
    begin(FXP_HANDLE, id);
    putHandle(index);
    send();
  };

  const close = (id: number, s: Slot) => {
    if (s.kind === KIND_KEYS_READ || s.kind === KIND_KEYS_WRITE) return keysClose(id, s);
    if (s.kind === KIND_READ) {
      const h = s.read;
      release(s);
      if (h) files.closeRead(h);
      return ok(id);
    }
    if (s.kind === KIND_DIR) {
      release(s);
      return ok(id);
    }
    const f = s.file!;
    const failed = s.failed;
    const times = s.hasTimes ? { atime: s.atime, mtime: s.mtime } : undefined;
    release(s);
    if (failed !== null) {
      f.abort();
      const message = `upload of "${shown(f.upload.target)}" dropped (any earlier version is unchanged): ${failed}`;
      note(message);
      return status(id, FX_FAILURE, message);
    }
    try {
      f.commit(times);
    } catch (e) {
      f.abort();
      throw e;
    }
    ok(id);
  };

  const read = (id: number, s: Slot, offset: number, len: number) => {
    let h: ReadSource;
    if (s.kind === KIND_KEYS_READ || s.kind === KIND_KEYS_WRITE) h = keysSource(s);
    else if (s.kind === KIND_READ) h = s.read!;
    else if (s.kind === KIND_WRITE && s.canRead) {
      s.file!.settle();
      h = s.file!.upload.handle;
    } else throw new StoreError("EINVAL", s.kind === KIND_DIR ? "a directory handle cannot be read (use READDIR)" : "the file was not opened for reading");
    if (len > MAX_READ_LENGTH) len = MAX_READ_LENGTH;
    // No answer bigger than what the file still holds: a small file costs a small buffer (on a
    // board the answer is built in a heap of a few hundred KiB).
    const left = h.size() - offset;
    if (len > left) len = left > 0 ? left : 0;
    // The first piece goes with the header; the rest (a READ longer than a piece) is streamed.
    const first = len > pieceLength ? pieceLength : len;
    begin(FXP_DATA, id);
    const lenAt = out.pos;
    out.uint32(0);
    out.ensure(first);
    const at = out.pos;
    let n = 0;
    while (n < first) {
      const k = h.read(offset + n, out.buf.subarray(at + n, at + first));
      if (k <= 0) break;
      n += k;
    }
    if (n === 0) return status(id, FX_EOF, "end of file");
    // A short first piece ends the answer there; a full one announces the whole length.
    const total = n === first ? len : n;
    const b = out.buf;
    b[lenAt] = total >>> 24;
    b[lenAt + 1] = total >>> 16;
    b[lenAt + 2] = total >>> 8;
    b[lenAt + 3] = total;
    out.pos = at + n;
    send(out.pos - 4 + total - n);
    if (total > n) {
      streamHandle = h;
      streamOffset = offset + n;
      streamLeft = total - n;
      pump();
    }
  };

  /** Sends the pieces of a streaming READ answer while the channel takes them. The header has
   * promised the bytes: a store that cannot give them now (the file cut short under us) ends the
   * session rather than send a corrupt answer. */
  const pump = () => {
    while (streamLeft > 0 && pending === null && !done) {
      const k = streamLeft > pieceLength ? pieceLength : streamLeft;
      out.reset();
      out.ensure(k);
      const b = out.buf;
      let n = 0;
      try {
        while (n < k) {
          const got = streamHandle!.read(streamOffset + n, b.subarray(n, k));
          if (got <= 0) break;
          n += got;
        }
      } catch (e) {
        streamLeft = 0;
        streamHandle = null;
        return fatal(`a file read failed in the middle of an answer: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (n < k) {
        streamLeft = 0;
        streamHandle = null;
        return fatal(`a file became shorter while it was read (${k - n} bytes missing at offset ${streamOffset + n})`);
      }
      streamOffset += k;
      streamLeft -= k;
      if (streamLeft === 0) streamHandle = null;
      const v = b.subarray(0, k);
      const w = ctx.write(v);
      if (w < k) pending = v.subarray(w);
    }
  };

  const write = (id: number, s: Slot, offset: number, data: Uint8Array) => {
    if (s.kind === KIND_KEYS_WRITE) return keysWrite(id, s, offset, data);
    if (s.kind !== KIND_WRITE) throw new StoreError("EINVAL", "the file was not opened for writing");
    if (s.failed !== null) return status(id, FX_FAILURE, s.failed);
    const f = s.file!;
    try {
      f.write(s.append ? f.size() : offset, data);
    } catch (e) {
      s.failed = e instanceof StoreError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
      throw e;
    }
    ok(id);
  };

  const fstat = (id: number, s: Slot) => {
    begin(FXP_ATTRS, id);
    if (s.kind === KIND_KEYS_READ || s.kind === KIND_KEYS_WRITE) {
      const now = Math.floor(Date.now() / 1000);
      putAttrs(s.length, false, 0o600, now, now);
      return send();
    }
    if (s.kind === KIND_WRITE) {
      const now = fileTimeNow();
      putAttrs(s.file!.size(), false, 0o644, s.hasTimes ? s.atime : now, s.hasTimes ? s.mtime : now);
    } else {
      const st = files.stat(s.path);
      if (s.kind === KIND_READ) putAttrs(s.read!.size(), false, st?.mode ?? 0o644, st?.atime ?? 0, st?.mtime ?? 0);
      else if (st) putStat(st);
      else throw new StoreError("ENOENT", `"${shown(s.path)}": no such directory`);
    }
    send();
  };

  const fsetstat = (id: number, s: Slot) => {
    if (s.kind === KIND_KEYS_WRITE) {
      if (attrs.flags & ATTR_SIZE) {
        keysRoom(s, attrs.size);
        if (attrs.size > s.length) s.bytes!.fill(0, s.length, attrs.size);
        s.length = attrs.size;
      }
      return ok(id);
    }
    if (s.kind === KIND_KEYS_READ) {
      if (attrs.flags & ATTR_SIZE) throw new StoreError("EINVAL", "the file was not opened for writing");
      return ok(id);
    }
    if (s.kind === KIND_WRITE) {
      if (s.failed !== null) return status(id, FX_FAILURE, s.failed);
      if (attrs.flags & ATTR_SIZE) {
        try {
          s.file!.truncate(attrs.size);
        } catch (e) {
          s.failed = e instanceof StoreError ? e.message : "internal error";
          throw e;
        }
      }
      if (attrs.flags & ATTR_ACMODTIME) {
        s.hasTimes = true;
        s.atime = attrs.atime;
        s.mtime = attrs.mtime;
      }
      return ok(id);
    }
    if (attrs.flags & ATTR_SIZE) throw new StoreError("EINVAL", "the file was not opened for writing");
    if (attrs.flags & ATTR_ACMODTIME && s.path !== "") store.setTimes(s.path, attrs.atime, attrs.mtime);
    ok(id);
  };

  const setstat = (id: number, path: string) => {
    const st = statOrFail(path);
    const times = attrs.flags & ATTR_ACMODTIME ? { atime: attrs.atime, mtime: attrs.mtime } : undefined;
    if (attrs.flags & ATTR_SIZE) {
      if (st.isDirectory) throw new StoreError("EISDIR", `"${shown(path)}" is a directory`);
      if (attrs.size !== st.size) {
        // Atomically, like every change of content: a new version written aside, then swapped in.
        const f = new PendingFile(files.beginUpload(path, false), files, st.size, scratch);
        try {
          f.truncate(attrs.size);
          f.commit(times);
        } catch (e) {
          f.abort();
          throw e;
        }
        return ok(id);
      }
    }
    if (times && path !== "") store.setTimes(path, times.atime, times.mtime);
    ok(id);
  };

  const opendir = (id: number, path: string) => {
    const st = statOrFail(path);
    if (!st.isDirectory) throw new StoreError("ENOTDIR", `"${shown(path)}" is not a directory`);
    const index = freeIndex(KIND_DIR);
    const entries = files.list(path);
    const s = take(index, KIND_DIR, path);
    s.entries = entries;
    s.next = 0;
    begin(FXP_HANDLE, id);
    putHandle(index);
    send();
  };

  const readdir = (id: number, s: Slot) => {
    if (s.kind !== KIND_DIR) throw new StoreError("EINVAL", "not a directory handle");
    const entries = s.entries!;
    if (s.next >= entries.length) return status(id, FX_EOF, "no more entries");
    begin(FXP_NAME, id);
    const countAt = out.pos;
    out.uint32(0);
    const start = out.pos;
    const now = fileTimeNow();
    let count = 0;
    while (s.next < entries.length && count < READDIR_BATCH_ENTRIES && out.pos - start < readdirBytes) {
      const e = entries[s.next++];
      out.text(e.name).text(longName(e, now));
      putStat(e);
      count++;
    }
    const b = out.buf;
    b[countAt] = count >>> 24;
    b[countAt + 1] = count >>> 16;
    b[countAt + 2] = count >>> 8;
    b[countAt + 3] = count;
    send();
  };

  const sendName = (id: number, name: string) => {
    begin(FXP_NAME, id);
    out.uint32(1).text(name).text(name).uint32(0);
    send();
  };

  const remove = (id: number, path: string) => {
    if (path === "") throw new StoreError("EISDIR", `"/" is a directory`);
    const st = statOrFail(path);
    if (st.isDirectory) throw new StoreError("EISDIR", `"${shown(path)}" is a directory (use rmdir)`);
    store.remove(path);
    ok(id);
  };

  const rename = (id: number, fromText: string, toText: string, replace: boolean) => {
    const v = virtual(fromText) || virtual(toText);
    if (v !== VIRTUAL_NONE) return virtualOther(id, v, "rename");
    const from = resolvePath(store, fromText);
    const to = resolvePath(store, toText);
    if (from === "" || to === "") throw new StoreError("EINVAL", `the root "/" cannot be renamed or replaced`);
    statOrFail(from);
    if (from === to) return ok(id);
    const dest = files.stat(to);
    if (dest && !replace) throw new StoreError("EEXIST", `"${shown(to)}" already exists`);
    if (dest?.isDirectory) throw new StoreError("EISDIR", `"${shown(to)}" is a directory`);
    if (to.startsWith(from + "/")) throw new StoreError("EINVAL", `"${shown(from)}" cannot move into itself`);
    store.rename(from, to);
    ok(id);
  };

  const mkdir = (id: number, path: string) => {
    if (!store.directories) {
      note(FLAT_MESSAGE);
      return status(id, FX_OP_UNSUPPORTED, FLAT_MESSAGE);
    }
    if (path === "" || files.stat(path)) throw new StoreError("EEXIST", `"${shown(path)}" already exists`);
    store.mkdir(path);
    ok(id);
  };

  const rmdir = (id: number, path: string) => {
    if (!store.directories) {
      note(FLAT_MESSAGE);
      return status(id, FX_OP_UNSUPPORTED, FLAT_MESSAGE);
    }
    if (path === "") throw new StoreError("EPERM", `the root "/" cannot be removed`);
    const st = statOrFail(path);
    if (!st.isDirectory) throw new StoreError("ENOTDIR", `"${shown(path)}" is not a directory`);
    store.rmdir(path);
    ok(id);
  };

  const statvfs = (id: number, path: string) => {
    statOrFail(path);
    const u = files.usage();
    const bsize = 4096;
    const free = Math.floor(u.free / bsize);
    begin(FXP_EXTENDED_REPLY, id);
    out.uint64(bsize).uint64(bsize).uint64(Math.ceil(u.capacity / bsize)).uint64(free).uint64(free);
    out.uint64(0).uint64(0).uint64(0); // files, ffree, favail: the store has no inode count
    out.uint64(0).uint64(2 /* ST_NOSUID */).uint64(store.maxNameLength);
    send();
  };

  const limits = (id: number) => {
    begin(FXP_EXTENDED_REPLY, id);
    // max-packet-length stays what we accept from clients that ignore the read/write lengths.
    out.uint64(MAX_PACKET_LENGTH).uint64(pieceLength).uint64(pieceLength).uint64(LIMITS_OPEN_HANDLES);
    send();
  };

  const extended = (id: number, name: string, r: SshReader) => {
    switch (name) {
      case "posix-rename@openssh.com": {
        const from = r.text();
        return rename(id, from, r.text(), true);
      }
      case "statvfs@openssh.com":
        return statvfs(id, resolvePath(store, r.text()));
      case "fsync@openssh.com": {
        const s = slotOf(r);
        if (s.kind === KIND_WRITE) {
          if (s.failed !== null) return status(id, FX_FAILURE, s.failed);
          s.file!.upload.handle.sync();
        } else if (s.kind !== KIND_READ) throw new StoreError("EINVAL", "not a file handle");
        return ok(id);
      }
      case "limits@openssh.com":
        return limits(id);
      case "expand-path@openssh.com": {
        let p = r.text();
        if (p === "~" || p.startsWith("~/")) p = "/" + p.slice(1);
        else if (p.startsWith("~")) throw new StoreError("ENOENT", `"${p}": there are no user home directories here`);
        return sendName(id, realPath(p));
      }
      default:
        return status(id, FX_OP_UNSUPPORTED, `extension "${name.slice(0, 64)}" is not supported`);
    }
  };

  const dispatch = (type: number, id: number, r: SshReader) => {
    switch (type) {
      case FXP_OPEN: {
        const name = r.text();
        const pflags = r.uint32();
        readAttrs(r);
        return open(id, name, pflags);
      }
      case FXP_CLOSE:
        return close(id, slotOf(r));
      case FXP_READ: {
        const s = slotOf(r);
        const offset = r.uint64();
        return read(id, s, offset, r.uint32());
      }
      case FXP_WRITE: {
        const s = slotOf(r);
        const offset = r.uint64();
        return write(id, s, offset, r.string());
      }
      case FXP_LSTAT:
      case FXP_STAT: {
        const name = r.text();
        const v = virtual(name);
        if (v !== VIRTUAL_NONE) return virtualStat(id, v);
        const st = statOrFail(resolvePath(store, name));
        begin(FXP_ATTRS, id);
        putStat(st);
        return send();
      }
      case FXP_FSTAT:
        return fstat(id, slotOf(r));
      case FXP_SETSTAT: {
        const name = r.text();
        readAttrs(r);
        const v = virtual(name);
        if (v !== VIRTUAL_NONE) return virtualOther(id, v, "setstat");
        return setstat(id, resolvePath(store, name));
      }
      case FXP_FSETSTAT: {
        const s = slotOf(r);
        readAttrs(r);
        return fsetstat(id, s);
      }
      case FXP_OPENDIR: {
        const name = r.text();
        const v = virtual(name);
        if (v !== VIRTUAL_NONE) return virtualOther(id, v, "opendir");
        return opendir(id, resolvePath(store, name));
      }
      case FXP_READDIR:
        return readdir(id, slotOf(r));
      case FXP_REMOVE: {
        const name = r.text();
        const v = virtual(name);
        if (v !== VIRTUAL_NONE) return virtualOther(id, v, "remove");
        return remove(id, resolvePath(store, name));
      }
      case FXP_MKDIR: {
        const name = r.text();
        readAttrs(r);
        const v = virtual(name);
        if (v !== VIRTUAL_NONE) return virtualOther(id, v, "mkdir");
        return mkdir(id, resolvePath(store, name));
      }
      case FXP_RMDIR: {
        const name = r.text();
        const v = virtual(name);
        if (v !== VIRTUAL_NONE) return virtualOther(id, v, "rmdir");
        return rmdir(id, resolvePath(store, name));
      }
      case FXP_REALPATH:
        return sendName(id, realPath(r.text()));
      case FXP_RENAME: {
        const from = r.text();
        return rename(id, from, r.text(), false);
      }
      case FXP_READLINK:
      case FXP_SYMLINK:
        return status(id, FX_OP_UNSUPPORTED, "symbolic links are not supported on this flash");
      case FXP_EXTENDED:
        return extended(id, r.text(), r);
      default:
        return status(id, FX_OP_UNSUPPORTED, `request type ${type} is not supported`);
    }
  };

  /** One whole packet: buf[start, end) holds type, id and fields (the length is already read). */
  const handlePacket = (buf: Uint8Array, start: number, end: number) => {
    const type = buf[start];
    if (type === FXP_INIT) {
      // uint32 version (we answer 3 whatever the client has) and its extensions, which we ignore.
      inited = true;
      return sendVersion();
    }
    if (end - start < 5) return fatal(`malformed request (type ${type}, ${end - start} bytes)`);
    const id = ((buf[start + 1] << 24) | (buf[start + 2] << 16) | (buf[start + 3] << 8) | buf[start + 4]) >>> 0;
    if (!inited) return status(id, FX_FAILURE, "SSH_FXP_INIT expected first");
    const r = new SshReader(buf, start + 5, end);
    try {
      dispatch(type, id, r);
    } catch (e) {
      fail(id, e, type === FXP_STAT || type === FXP_LSTAT || type === FXP_REALPATH);
    }
  };

  /** Re-opens the window for n bytes taken from the front of the stream, less what was acked early. */
  const releaseInput = (n: number) => {
    const early = Math.min(acked, n);
    acked -= early;
    if (n > early) ctx.consume(n - early);
  };

  /** While answers flow, acknowledge held bytes of the request being received (at most one request:
   * the bound on buffered input stays MAX_PACKET_LENGTH). */
  const ackHeld = () => {
    if (blocked() || done) return;
    const want = Math.min(held, MAX_PACKET_LENGTH + 4) - acked;
    if (want > 0) {
      ctx.consume(want);
      acked += want;
    }
  };

  /** Handles whole packets in buf[off, end) until answers back up; returns where it stopped. */
  const parse = (buf: Uint8Array, off: number, end: number): number => {
    while (!done) {
      if (skip > 0) {
        const n = Math.min(skip, end - off);
        if (n === 0) break;
        skip -= n;
        off += n;
        releaseInput(n);
        continue;
      }
      if (blocked()) break;
      if (end - off < 4) break;
      const len = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
      if (len > MAX_PACKET_LENGTH || len === 0) {
        if (len === 0 || len > MAX_SKIP) {
          fatal(`malformed request stream (a packet length of ${len}; at most ${MAX_PACKET_LENGTH} is accepted)`);
          break;
        }
        if (end - off < 9) break;
        const id = ((buf[off + 5] << 24) | (buf[off + 6] << 16) | (buf[off + 7] << 8) | buf[off + 8]) >>> 0;
        const message = `request of ${len} bytes refused: this server takes at most ${MAX_PACKET_LENGTH} (reads and writes up to ${MAX_WRITE_LENGTH})`;
        note(message);
        status(id, FX_FAILURE, message);
        skip = 4 + len;
        continue;
      }
      if (end - off < 4 + len) break;
      handlePacket(buf, off + 4, off + 4 + len);
      off += 4 + len;
      if (!done) releaseInput(4 + len);
    }
    return off;
  };

  const hold = (bytes: Uint8Array, from: number, to: number) => {
    const n = to - from;
    if (n <= 0) return;
    if (held + n > MAX_HELD_INPUT) {
      ctx.consume(n);
      return fatal(`the client sent over ${MAX_HELD_INPUT} bytes of requests without reading the answers`);
    }
    if (held + n > inbuf.length) {
      // Doubling, but one largest packet is enough unless answers are backed up.
      let size = Math.max(1024, inbuf.length * 2);
      while (size < held + n) size *= 2;
      const cap = held + n <= MAX_PACKET_LENGTH + 4 ? MAX_PACKET_LENGTH + 4 : MAX_HELD_INPUT;
      const next = new Uint8Array(Math.min(size, cap));
      next.set(inbuf.subarray(0, held));
      inbuf = next;
    }
    inbuf.set(from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to), held);
    held += n;
    ackHeld();
  };

  const drainHeld = () => {
    const used = parse(inbuf, 0, held);
    if (done) return;
    if (used > 0) {
      inbuf.copyWithin(0, used, held);
      held -= used;
    }
  };

  /** Bytes that complete the packet begun in inbuf (its length field, then its body). */
  const headWant = (): number => {
    if (held < 4) return 4 - held;
    const len = ((inbuf[0] << 24) | (inbuf[1] << 16) | (inbuf[2] << 8) | inbuf[3]) >>> 0;
    return len > MAX_PACKET_LENGTH ? 9 - held : 4 + len - held;
  };

  const maybeEnd = () => {
    if (eofIn && !done && !blocked() && !busy) finish(0);
  };

  return {
    data(bytes) {
      if (done) return ctx.consume(bytes.length);
      busy = true;
      try {
        const end = bytes.length;
        let off = 0;
        // A packet begun in an earlier call: complete it from this one.
        while (off < end && held > 0 && !blocked() && skip === 0 && !done) {
          const want = headWant();
          if (want <= 0) break; // cannot happen: drainHeld() takes any complete header
          const n = Math.min(want, end - off);
          hold(bytes, off, off + n);
          off += n;
          drainHeld();
        }
        if (off < end && !done) {
          if (held === 0) off = parse(bytes, off, end);
          if (off < end && !done) hold(bytes, off, end);
        }
      } catch (e) {
        fatal(`internal error: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        busy = false;
      }
    },
    eof() {
      eofIn = true;
      maybeEnd();
    },
    writable() {
      if (done || !blocked() || busy) return;
      if (pending) {
        const n = ctx.write(pending);
        if (n < pending.length) {
          pending = pending.subarray(n);
          return;
        }
        pending = null;
      }
      busy = true;
      try {
        pump();
        if (blocked() || done) return;
        drainHeld();
        ackHeld();
      } catch (e) {
        fatal(`internal error: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        busy = false;
      }
      maybeEnd();
    },
    closed() {
      done = true;
      pending = null;
      streamLeft = 0;
      streamHandle = null;
      held = 0;
      acked = 0;
      cleanup();
    },
  };
}
