// Legacy scp (`scp -O`, the rcp protocol): the OpenSSH client runs `scp -t [-r] [-p] [-d] -- TARGET`
// to upload (we are the sink) or `scp -f [-r] [-p] -- PATH...` to download (we are the source).
//
// The protocol, as OpenSSH's scp.c speaks it: the receiver answers every control line with one byte,
// 0 for success, or 1 (warning: the transfer of that item failed, go on) or 2 (fatal) followed by a
// message line. Lines: `T<mtime> 0 <atime> 0` (times of the next item, with -p), `C<mode> <size>
// <name>` (a file; its bytes follow once acknowledged, then one status byte 0 from the sender),
// `D<mode> 0 <name>` (enter a directory, with -r) and `E` (leave it). The client prints the message
// of a 1 or 2 reply and exits non-zero when there was any; it also exits non-zero when we do.
//
// Uploads go through Files.beginUpload: written aside, swapped in only after the whole file and the
// sender's final 0 arrived, so the old file stays intact on any failure and no temp file remains.

import type { SessionContext, SessionProgram } from "../ssh/session.js";
import { concatBytes, utf8Decode, utf8Encode } from "../ssh/wire.js";
import { baseName, joinPath, resolvePath, type Files, type Upload } from "./files.js";
import { StoreError, type FileHandle } from "./store.js";

/** Longest control line (T, C, D, E, or a message) we accept, newline included: OpenSSH's buffer. */
export const SCP_MAX_LINE = 2048;
/** Directories nested deeper than this are refused (bounds the state a client can make us keep). */
export const SCP_MAX_DEPTH = 32;
/** Bytes of a file the source reads per step (it writes only what the channel takes). */
const SCP_CHUNK = 4096;
/** Our own replies queued beyond what the channel took; past this the sink stops reading input
 * until the client reads its acknowledgements (its window then stalls it). */
const SCP_MAX_QUEUED_REPLIES = 4096;

interface ScpOptions {
  sink: boolean;
  recursive: boolean;
  preserve: boolean;
  targetIsDir: boolean;
  paths: string[];
}

interface Times {
  atime: number;
  mtime: number;
}

export function scpCommand(ctx: SessionContext, args: string[], files: Files): SessionProgram {
  const opts = parseArgs(args);
  if (typeof opts === "string") {
    return {
      start() {
        ctx.print(`scp: ${opts}\nusage: scp -t [-r] [-p] [-d] [--] TARGET | scp -f [-r] [-p] [--] PATH... (run by the scp client: scp -O ...)\n`, true);
        ctx.exit(1);
      },
    };
  }
  return opts.sink ? scpSink(ctx, files, opts) : scpSource(ctx, files, opts);
}

function parseArgs(args: string[]): ScpOptions | string {
  let to = false, from = false;
  const o: ScpOptions = { sink: false, recursive: false, preserve: false, targetIsDir: false, paths: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      i++;
      break;
    }
    if (a.length < 2 || a[0] !== "-") break;
    for (const c of a.slice(1)) {
      if (c === "t") to = true;
      else if (c === "f") from = true;
      else if (c === "r") o.recursive = true;
      else if (c === "p") o.preserve = true;
      else if (c === "d") o.targetIsDir = true;
      else if (c === "v" || c === "q" || c === "T") continue;
      else return `unknown option -${c}`;
    }
  }
  o.paths = args.slice(i);
  if (to === from) return "give one of -t (receive) or -f (send)";
  o.sink = to;
  if (to && o.paths.length !== 1) return "ambiguous target";
  if (from && o.paths.length === 0) return "no file to send";
  return o;
}

/** A StoreError's message, or an internal error's, for an error line. */
function describe(e: unknown): string {
  if (e instanceof StoreError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

/** "scp: NAME: MESSAGE", or "scp: MESSAGE" when the message already names its subject; one line. */
function errorText(name: string, message: string): string {
  const text = name === "" || message.startsWith('"') ? `scp: ${message}` : `scp: ${name}: ${message}`;
  let out = "";
  for (const ch of text) out += ch < " " || ch === "\x7f" ? "?" : ch;
  return out;
}

/** One protocol reply line: 1 (warning) or 2 (fatal), the text, a newline. */
function replyLine(kind: 1 | 2, text: string): Uint8Array {
  return concatBytes(Uint8Array.of(kind), utf8Encode(text), Uint8Array.of(10));
}

/** The protocol's OK byte. Only ever read (preload: read-only). */
const ACK = Uint8Array.of(0);

/** Our replies, kept in order when the channel does not take them at once. */
class Output {
  private queue: Uint8Array[] = [];
  bytes = 0;
  constructor(private readonly ctx: SessionContext) {}

  send(b: Uint8Array): void {
    if (this.queue.length === 0) {
      const n = this.ctx.write(b);
      if (n === b.length) return;
      b = b.subarray(n);
    }
    this.queue.push(b);
    this.bytes += b.length;
  }

  text(s: string): void {
    this.send(utf8Encode(s));
  }

  /** Writes what the channel takes; true when nothing is left. */
  flush(): boolean {
    while (this.queue.length > 0) {
      const b = this.queue[0];
      const n = this.ctx.write(b);
      this.bytes -= n;
      if (n < b.length) {
        this.queue[0] = b.subarray(n);
        return false;
      }
      this.queue.shift();
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Sink: `scp -t TARGET`, the client uploads.

interface SinkDir {
  path: string;
  times: Times | null;
  parent: string;
  parentIsDir: boolean;
}

function scpSink(ctx: SessionContext, files: Files, opts: ScpOptions): SessionProgram {
  const store = files.store;
  const out = new Output(ctx);
  const targetText = opts.paths[0];
  /** Where C and D lines land: a directory (names join it) or the target file itself. */
  let cwd = "";
  let cwdIsDir = true;
  const dirs: SinkDir[] = [];
  let times: Times | null = null;
  let errors = 0;
  let finished = false;
  let exitPending: number | null = null;
  let first = true;

  let state: "line" | "data" | "status" | "statusLine" = "line";
  const line = new Uint8Array(SCP_MAX_LINE);
  let lineLen = 0;

  // The file being received.
  let upload: Upload | null = null;
  let uploadError: string | null = null;
  let fileName = "";
  let fileTimes: Times | null = null;
  let remaining = 0;
  let offset = 0;

  /** Input not processed yet (our replies are backed up); its bytes are not consumed. */
  let held: Uint8Array | null = null;
  let eofPending = false;

  const finish = (status: number) => {
    if (finished) return;
    finished = true;
    if (upload) {
      upload.abort();
      upload = null;
    }
    if (held) {
      ctx.consume(held.length);
      held = null;
    }
    if (out.flush()) ctx.exit(status);
    else exitPending = status;
  };

  const fatal = (text: string) => {
    out.send(replyLine(2, text.startsWith("scp: ") ? text : `scp: ${text}`));
    finish(1);
  };

  /** The item failed; the client reports it and goes on with the next. */
  const warn = (name: string, message: string) => {
    errors++;
    out.send(replyLine(1, errorText(name, message)));
  };

  const endFile = (senderError: string | null, senderFatal: boolean) => {
    state = "line";
    const u = upload;
    upload = null;
    if (senderError !== null) {
      // The client could not read its own file: it has told the user; drop what arrived.
      errors++;
      u?.abort();
      if (senderFatal) return finish(1);
      out.send(ACK);
      return;
    }
    if (uploadError !== null || !u) {
      warn(fileName, uploadError ?? "upload failed");
      return;
    }
    try {
      u.commit(fileTimes ?? undefined);
      out.send(ACK);
    } catch (e) {
      warn(fileName, describe(e));
    }
  };

  const writeData = (chunk: Uint8Array) => {
    if (upload && uploadError === null) {
      try {
        upload.write(offset, chunk);
      } catch (e) {
        // Keep reading to stay in step with the sender; the error is reported after the data.
        uploadError = describe(e);
        upload.abort();
        upload = null;
      }
    }
    offset += chunk.length;
  };

  const parseTimes = (text: string) => {
    const m = /^T([0-9]{1,20}) ([0-9]{1,7}) ([0-9]{1,20}) ([0-9]{1,7})$/.exec(text);
    if (!m || Number(m[2]) > 999999 || Number(m[4]) > 999999) return fatal(`protocol error: bad time line`);
    const mtime = Number(m[1]), atime = Number(m[3]);
    // Out-of-range times are ignored, as OpenSSH does.
    times = Number.isSafeInteger(mtime) && Number.isSafeInteger(atime) ? { atime, mtime } : null;
    out.send(ACK);
  };

  const endDirectory = () => {
    const d = dirs.pop();
    if (!d) {
      // E at the top level: the sender is done (OpenSSH's sink returns here too).
      out.send(ACK);
      return finish(errors ? 1 : 0);
    }
    cwd = d.parent;
    cwdIsDir = d.parentIsDir;
    if (d.times) {
      try {
        store.setTimes(d.path, d.times.atime, d.times.mtime);
      } catch (e) {
        return warn(baseName(d.path), `set times: ${describe(e)}`);
      }
    }
    out.send(ACK);
  };

  const handleLine = (bytes: Uint8Array) => {
    const wasFirst = first;
    first = false;
    const c = bytes[0];
    if (c === 1 || c === 2) {
      // The client's source could not send something (it told the user itself).
      errors++;
      if (c === 2) finish(1);
      return;
    }
    const text = utf8Decode(bytes);
    if (text === "E") return endDirectory();
    if (c === 0x54 /* T */) return parseTimes(text);
    const m = /^([CD])([0-7]{4}) ([0-9]{1,20}) ([^]*)$/.exec(text);
    if (!m) {
      if (wasFirst && c !== 0x43 && c !== 0x44) return fatal(errorText("", text));
      return fatal(c === 0x43 || c === 0x44 ? `protocol error: bad ${text[0]} line` : "protocol error: expected control record");
    }
    const size = Number(m[3]);
    const name = m[4];
    if (!Number.isSafeInteger(size)) return fatal("protocol error: size out of range");
    if (name === "" || name.includes("/") || name === "." || name === "..") {
      return fatal(errorText("", `error: unexpected filename: ${name}`));
    }
    const t = times;
    times = null;
    let path: string;
    try {
      path = resolvePath(store, cwdIsDir ? joinPath(cwd, name) : cwd);
    } catch (e) {
      return warn(name, describe(e));
    }
    if (m[1] === "D") {
      if (!opts.recursive) return fatal("protocol error: received directory without -r");
      if (!store.directories) return fatal(errorText(name, "this flash store is flat (no directories)"));
      if (dirs.length >= SCP_MAX_DEPTH) return fatal(errorText(name, `directories nested deeper than ${SCP_MAX_DEPTH} levels`));
      const st = files.stat(path);
      if (st && !st.isDirectory) return warn(name, "Not a directory");
      if (!st) {
        try {
          store.mkdir(path);
        } catch (e) {
          return warn(name, describe(e));
        }
      }
      dirs.push({ path, times: t, parent: cwd, parentIsDir: cwdIsDir });
      cwd = path;
      cwdIsDir = true;
      out.send(ACK);
      return;
    }
    // The upload is written beside the old file, so the whole new size must fit next to it.
    const u = files.usage();
    if (size > u.free && !files.special(path)) {
      return warn(name, `no space left on the flash (${size} bytes to write, ${u.free} of ${u.capacity} bytes free)${files.replaceHint(path, size)}`);
    }
    try {
      upload = files.beginUpload(path, false);
    } catch (e) {
      return warn(name, describe(e));
    }
    fileName = name;
    fileTimes = t;
    uploadError = null;
    remaining = size;
    offset = 0;
    out.send(ACK);
    state = size === 0 ? "status" : "data";
  };

  /** Processes input; returns how many bytes were taken (fewer when our replies are backed up). */
  const processInput = (bytes: Uint8Array): number => {
    let i = 0;
    while (i < bytes.length && !finished) {
      if (out.bytes > SCP_MAX_QUEUED_REPLIES) break;
      if (state === "data") {
        const n = Math.min(remaining, bytes.length - i);
        writeData(bytes.subarray(i, i + n));
        i += n;
        remaining -= n;
        if (remaining === 0) state = "status";
        continue;
      }
      const b = bytes[i++];
      if (state === "status") {
        if (b === 0) endFile(null, false);
        else {
          // The sender reports an error instead of its final 0: its message line follows.
          line[0] = b;
          lineLen = 1;
          state = "statusLine";
        }
        continue;
      }
      if (lineLen === 0 && b === 10 && state === "line") {
        fatal("protocol error: unexpected <newline>");
        break;
      }
      if (lineLen >= SCP_MAX_LINE - 1 && b !== 10) {
        fatal(`protocol error: control line longer than ${SCP_MAX_LINE} bytes`);
        break;
      }
      if (b !== 10) {
        line[lineLen++] = b;
        continue;
      }
      const l = line.subarray(0, lineLen);
      lineLen = 0;
      if (state === "statusLine") endFile(utf8Decode(l.subarray(1)), l[0] !== 1);
      else handleLine(l);
    }
    return i;
  };

  const onEof = () => {
    if (finished) return;
    if (state === "line" && lineLen === 0 && dirs.length === 0) return finish(errors ? 1 : 0);
    // Cut off in the middle of a file or a directory: whatever arrived is dropped.
    finish(1);
  };

  const feed = (bytes: Uint8Array, copyRest: boolean) => {
    const n = processInput(bytes);
    ctx.consume(n);
    if (n < bytes.length) {
      if (finished) ctx.consume(bytes.length - n);
      else held = copyRest ? bytes.slice(n) : bytes.subarray(n);
    }
    if (!held && eofPending) {
      eofPending = false;
      onEof();
    }
  };

  return {
    start() {
      let target: string;
      try {
        target = resolvePath(store, targetText);
      } catch (e) {
        return fatal(errorText(targetText, describe(e)));
      }
      const st = files.stat(target);
      const isDir = st?.isDirectory ?? false;
      if ((opts.targetIsDir || targetText.endsWith("/")) && !isDir) {
        return fatal(errorText(targetText, st ? "Not a directory" : "No such directory"));
      }
      cwd = target;
      cwdIsDir = isDir;
      out.send(ACK);
    },
    data(bytes) {
      if (finished) return ctx.consume(bytes.length);
      if (held) {
        held = concatBytes(held, bytes);
        return;
      }
      feed(bytes, true);
    },
    eof() {
      if (held) eofPending = true;
      else onEof();
    },
    writable() {
      if (!out.flush()) return;
      if (exitPending !== null) {
        const s = exitPending;
        exitPending = null;
        ctx.exit(s);
        return;
      }
      if (held && !finished) {
        const h = held;
        held = null;
        feed(h, false);
      }
    },
    closed() {
      // The connection is gone: an upload in progress is dropped, the old file stays.
      finished = true;
      if (upload) {
        upload.abort();
        upload = null;
      }
      held = null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Source: `scp -f PATH...`, the client downloads.

interface SourceFrame {
  /** null for the command-line paths; else the directory whose entries `names` are. */
  dir: string | null;
  names: string[];
  i: number;
  /** Send E when done (a directory entered with D). */
  closeWithE: boolean;
}

interface Sending {
  handle: FileHandle;
  name: string;
  size: number;
  offset: number;
  pending: Uint8Array | null;
  readError: string | null;
}

function scpSource(ctx: SessionContext, files: Files, opts: ScpOptions): SessionProgram {
  const out = new Output(ctx);
  const buf = new Uint8Array(SCP_CHUNK);
  const input = new Uint8Array(SCP_MAX_LINE);
  let inLen = 0;
  let eofSeen = false;
  let errors = 0;
  let finished = false;
  let exitPending: number | null = null;
  /** Waiting for the client's reply to what we sent; called with true for 0, false for a warning. */
  let waiting: ((ok: boolean) => void) | null = null;
  let sending: Sending | null = null;
  const stack: SourceFrame[] = [{ dir: null, names: opts.paths.slice(), i: 0, closeWithE: false }];
  let pumping = false;

  const finish = (status: number) => {
    if (finished) return;
    finished = true;
    if (sending) {
      files.closeRead(sending.handle);
      sending = null;
    }
    if (out.flush()) ctx.exit(status);
    else exitPending = status;
  };

  const warn = (name: string, message: string) => {
    errors++;
    out.send(replyLine(1, errorText(name, message)));
  };

  const timesLine = (path: string) => {
    const st = files.stat(path);
    return `T${Math.max(0, Math.floor(st?.mtime ?? 0))} 0 ${Math.max(0, Math.floor(st?.atime ?? 0))} 0\n`;
  };

  /** Sends `text`, then `then(ok)` once the client replied. */
  const ask = (text: string, then: (ok: boolean) => void) => {
    out.text(text);
    waiting = then;
  };

  /** The client's reply if one is complete: true (0), false (1 + message), "fatal" (2 or garbage). */
  const takeReply = (): boolean | "fatal" | null => {
    if (inLen === 0) return null;
    if (input[0] === 0) {
      input.copyWithin(0, 1, inLen);
      inLen--;
      return true;
    }
    const nl = input.subarray(0, inLen).indexOf(10);
    if (nl < 0) return null;
    const kind = input[0];
    input.copyWithin(0, nl + 1, inLen);
    inLen -= nl + 1;
    errors++;
    return kind === 1 ? false : "fatal";
  };

  const sendPath = (path: string, shown: string) => {
    const st = files.stat(path);
    if (!st) return warn(shown, "No such file or directory");
    const name = path === "" ? "" : baseName(path);
    if (st.isDirectory) {
      if (!opts.recursive) return warn(shown, "not a regular file");
      if (name === "") return warn(shown, "the root directory itself cannot be sent; name its files (for example host:'*')");
      if (stack.length > SCP_MAX_DEPTH) return warn(shown, `directories nested deeper than ${SCP_MAX_DEPTH} levels`);
      let names: string[];
      try {
        names = files.list(path).map((s) => s.name);
      } catch (e) {
        return warn(shown, describe(e));
      }
      const enter = () =>
        ask(`D0755 0 ${name}\n`, (ok) => {
          if (ok) stack.push({ dir: path, names, i: 0, closeWithE: true });
        });
      if (opts.preserve) ask(timesLine(path), (ok) => ok && enter());
      else enter();
      return;
    }
    if (name.includes("\n")) return warn(shown, "name contains a newline");
    let handle: FileHandle;
    try {
      handle = files.openRead(path);
    } catch (e) {
      return warn(shown, describe(e));
    }
    const size = st.size;
    const announce = () =>
      ask(`C0644 ${size} ${name}\n`, (ok) => {
        if (ok) sending = { handle, name: shown, size, offset: 0, pending: null, readError: null };
        else files.closeRead(handle);
      });
    if (opts.preserve) {
      ask(timesLine(path), (ok) => {
        if (ok) announce();
        else files.closeRead(handle);
      });
    } else announce();
  };

  /** Next work item; false when there is nothing left. */
  const step = (): boolean => {
    const f = stack[stack.length - 1];
    if (!f) {
      finish(errors ? 1 : 0);
      return false;
    }
    if (f.i >= f.names.length) {
      stack.pop();
      if (f.closeWithE) ask("E\n", () => {});
      return true;
    }
    const item = f.names[f.i++];
    if (f.dir !== null) {
      sendPath(joinPath(f.dir, item), joinPath(f.dir, item));
      return true;
    }
    let path: string;
    try {
      path = resolvePath(files.store, item);
    } catch (e) {
      warn(item, describe(e));
      return true;
    }
    const base = baseName(path);
    if (/[*?]/.test(base) && !files.stat(path)) {
      // A glob in the last component, as a remote shell would expand it.
      const dir = path.slice(0, path.length - base.length).replace(/\/$/, "");
      const re = globRegExp(base);
      let names: string[] = [];
      try {
        names = files.list(dir).map((s) => s.name).filter((n) => re.test(n));
      } catch {
        // no such directory: reported below
      }
      if (names.length === 0) warn(item, "No such file or directory");
      else stack.push({ dir, names, i: 0, closeWithE: false });
      return true;
    }
    sendPath(path, item);
    return true;
  };

  /** Streams the file being sent; true when it is all out (its final status sent). */
  const sendData = (s: Sending): boolean => {
    if (!out.flush()) return false;
    for (;;) {
      if (s.pending) {
        const n = ctx.write(s.pending);
        if (n < s.pending.length) {
          s.pending = s.pending.subarray(n);
          return false;
        }
        s.pending = null;
      }
      if (s.offset >= s.size) break;
      const want = Math.min(buf.length, s.size - s.offset);
      const chunk = buf.subarray(0, want);
      let n = 0;
      if (s.readError === null) {
        try {
          n = s.handle.read(s.offset, chunk);
          if (n === 0) s.readError = "file shrank while being sent";
        } catch (e) {
          s.readError = describe(e);
        }
      }
      if (s.readError !== null) {
        // Keep the stream in step: zeros for the rest, then an error instead of the final 0.
        chunk.fill(0);
        n = want;
      }
      s.offset += n;
      s.pending = chunk.subarray(0, n);
    }
    files.closeRead(s.handle);
    sending = null;
    if (s.readError !== null) warn(s.name, s.readError);
    else out.send(ACK);
    waiting = () => {};
    return true;
  };

  const pump = () => {
    if (pumping) return;
    pumping = true;
    try {
      while (!finished) {
        if (waiting) {
          const r = takeReply();
          if (r === null) {
            if (eofSeen) finish(1); // the client went away without answering
            break;
          }
          if (r === "fatal") {
            finish(1);
            break;
          }
          const then = waiting;
          waiting = null;
          then(r);
          continue;
        }
        if (sending) {
          if (!sendData(sending)) break;
          continue;
        }
        if (!step()) break;
      }
    } catch (e) {
      warn("", describe(e));
      finish(1);
    } finally {
      pumping = false;
    }
  };

  return {
    start() {
      // The client's sink speaks first (one 0 byte).
      waiting = () => {};
      pump();
    },
    data(bytes) {
      ctx.consume(bytes.length);
      if (finished) return;
      if (inLen + bytes.length > input.length) {
        out.send(replyLine(2, "scp: protocol error: unexpected input"));
        finish(1);
        return;
      }
      input.set(bytes, inLen);
      inLen += bytes.length;
      pump();
    },
    eof() {
      eofSeen = true;
      pump();
    },
    writable() {
      if (!out.flush()) return;
      if (exitPending !== null) {
        const s = exitPending;
        exitPending = null;
        ctx.exit(s);
        return;
      }
      pump();
    },
    closed() {
      if (sending) {
        files.closeRead(sending.handle);
        sending = null;
      }
      finished = true;
    },
  };
}

/** A shell glob (`*`, `?`) for one name as a RegExp; as in a shell, a leading "." must be literal. */
function globRegExp(glob: string): RegExp {
  let src = "";
  for (const ch of glob) {
    if (ch === "*") src += "[^/]*";
    else if (ch === "?") src += "[^/]";
    else src += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(glob.startsWith(".") ? `^${src}$` : `^(?!\\.)${src}$`);
}
