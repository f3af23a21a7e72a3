// The serial console bridge: shell sessions <-> one UART.
//
// Input: a session's bytes go to the UART only as fast as it takes them, and the session's channel
// window re-opens only for bytes the UART took, so a fast paste into a slow line loses nothing and
// holds at most one window per session in memory.
// Output: every UART byte goes to the scrollback and to every attached session. Each session has a
// bounded queue; a session that does not read loses its own oldest output (counted), never stalling
// the UART or the other sessions.

import type { SessionContext, SessionProgram } from "../ssh/session.js";
import { ByteRing } from "../ssh/ring.js";
import { formatLine, parseBaud, parseFormat, type LineSettings, type UartListener, type UartPort } from "./uart.js";

/** Scrollback replayed to a session when it attaches: about two screens of a boot log. */
export const DEFAULT_SCROLLBACK = 16 * 1024;
/** Output a session may fall behind by (beyond its channel's own send queue) before it loses its
 * oldest bytes. */
export const SESSION_OUTPUT_QUEUE = 32 * 1024;
/** Sessions attached to one UART at once. */
export const MAX_ATTACHED = 8;
/** The in-band escape: Ctrl-] (as telnet), then a command key. Active only with a pty, so binary data
 * sent without one passes untouched. */
export const ESCAPE_BYTE = 0x1d;
/** Break length for the in-band escape (OpenSSH's ~B sends 1000 ms through a request instead). */
export const ESCAPE_BREAK_MS = 500;
/** Longest line typed after the escape's ':' (line settings). */
const ESCAPE_LINE_MAX = 40;

export interface AttachOptions {
  readOnly: boolean;
}

const text = (s: string) => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
};

export class UartBridge implements UartListener {
  private readonly scrollback: ByteRing;
  readonly attached: Attachment[] = [];
  /** Sessions with input waiting for the UART, served in turn. */
  private readonly waiting: Attachment[] = [];
  bytesFromUart = 0;
  bytesToUart = 0;
  /** Most input bytes any one session had waiting for the UART (bounded by its channel window). */
  maxHeldInput = 0;

  constructor(readonly port: UartPort, scrollbackBytes = DEFAULT_SCROLLBACK) {
    this.scrollback = new ByteRing(Math.max(1, scrollbackBytes));
    port.listener = this;
  }

  get name(): string {
    return this.port.name;
  }

  // ---- UartListener ----

  data(bytes: Uint8Array): void {
    this.bytesFromUart += bytes.length;
    this.scrollback.writeOverwriting(bytes);
    for (const a of this.attached) a.deliver(bytes);
  }

  writable(): void {
    // Each waiting session gets a turn; one that is not finished goes to the back of the line.
    let turns = this.waiting.length;
    while (turns-- > 0 && this.waiting.length > 0) {
      const a = this.waiting.shift()!;
      if (!a.pumpInput()) {
        this.waiting.push(a);
        return; // the UART is full again
      }
    }
  }

  status(open: boolean, detail: string): void {
    const note = text(`\r\n[${this.port.name} ${open ? "is back" : "is gone"}: ${detail}]\r\n`);
    for (const a of this.attached) a.deliver(note);
    if (open) this.writable();
  }

  // ---- sessions ----

  attach(ctx: SessionContext, options: AttachOptions): SessionProgram {
    if (this.attached.length >= MAX_ATTACHED) {
      return {
        start: () => {
          ctx.print(`${this.port.name}: ${MAX_ATTACHED} sessions are attached already\n`, true);
          ctx.exit(1);
        },
      };
    }
    const a = new Attachment(this, ctx, options.readOnly);
    return a;
  }

  /** Writes what the UART takes; true when all of it was taken. */
  toUart(bytes: Uint8Array): number {
    const n = this.port.isOpen ? this.port.write(bytes) : 0;
    this.bytesToUart += n;
    return n;
  }

  wait(a: Attachment): void {
    if (!this.waiting.includes(a)) this.waiting.push(a);
  }

  added(a: Attachment): void {
    this.attached.push(a);
    const replay = this.scrollback.snapshot();
    if (replay.length > 0) a.deliver(replay);
  }

  removed(a: Attachment): void {
    const i = this.attached.indexOf(a);
    if (i >= 0) this.attached.splice(i, 1);
    const w = this.waiting.indexOf(a);
    if (w >= 0) this.waiting.splice(w, 1);
  }

  /** Applies settings from `stty` or the escape line (a baud rate and/or a frame format, in any
   * order); returns an error message or null. */
  applySettings(args: string[]): string | null {
    let baud: string | undefined, format: string | undefined;
    for (const arg of args) {
      if (/^\d+$/.test(arg)) baud = arg;
      else if (/^\d/.test(arg)) format = arg;
      else return `"${arg}" is neither a baud rate nor a frame format like 8N1`;
    }
    return this.applyLine(baud, format);
  }

  /** Applies a baud rate and/or frame format given as text (SERIAL_BAUD, SERIAL_FORMAT). */
  applyLine(baudText: string | undefined, formatText: string | undefined): string | null {
    const next: LineSettings = { ...this.port.line };
    if (baudText !== undefined) {
      const baud = parseBaud(baudText);
      if (typeof baud === "string") return baud;
      next.baud = baud;
    }
    if (formatText !== undefined) {
      const f = parseFormat(formatText);
      if (typeof f === "string") return f;
      Object.assign(next, f);
    }
    try {
      this.port.setLine(next);
    } catch (e) {
      return `${this.port.name}: ${(e as Error).message}`;
    }
    return null;
  }

  /** One line per attached session, for `info` and `stty`. */
  describe(): string[] {
    const lines = [`${this.port.name}: ${this.port.description}, ${formatLine(this.port.line)}${this.port.isOpen ? "" : " (device absent)"}, ${this.bytesFromUart} bytes from it, ${this.bytesToUart} to it`];
    for (const a of this.attached) lines.push(`  ${a.ctx.user}@${a.ctx.remote}${a.readOnly ? " (read-only)" : ""}${a.dropped ? `, lost ${a.dropped} bytes of output (too slow)` : ""}`);
    return lines;
  }
}

export class Attachment implements SessionProgram {
  private readonly out = new ByteRing(SESSION_OUTPUT_QUEUE);
  /** Output bytes this session lost because it did not keep up. */
  dropped = 0;
  /** Input the UART has not taken yet (copies; bounded by our channel window). */
  private readonly held: Uint8Array[] = [];
  private heldBytes = 0;
  private eofReceived = false;
  private gone = false;
  /** Escape state: 0 idle, 1 after Ctrl-], 2 reading a ':' settings line. */
  private escape = 0;
  private escapeLine = "";

  constructor(private readonly bridge: UartBridge, readonly ctx: SessionContext, readonly readOnly: boolean) {}

  start(): void {
    const env = this.ctx.env;
    const baud = env.get("SERIAL_BAUD");
    const format = env.get("SERIAL_FORMAT");
    if (baud !== undefined || format !== undefined) {
      if (this.readOnly) return this.refuse("an observer cannot change line settings (SERIAL_BAUD/SERIAL_FORMAT)");
      const error = this.bridge.applyLine(baud, format);
      if (error) return this.refuse(`SERIAL_BAUD/SERIAL_FORMAT: ${error}`);
    }
    if (this.ctx.pty) {
      this.note(`[${this.bridge.name}: ${formatLine(this.bridge.port.line)}${this.readOnly ? ", read-only" : ""}; Ctrl-] ? for help]`);
    }
    this.bridge.added(this);
  }

  private refuse(message: string): void {
    this.gone = true;
    this.ctx.print(`${message}\n`, true);
    this.ctx.exit(1);
  }

  private note(s: string): void {
    this.deliver(text(`\r\n${s}\r\n`));
  }

  /** UART output (or a note) for this session: straight into the channel while it has room; the
   * rest into our queue, whose oldest bytes go first when it is full. */
  deliver(bytes: Uint8Array): void {
    if (this.gone) return;
    let rest = bytes;
    if (this.out.length === 0) {
      const n = this.ctx.write(bytes);
      if (n === bytes.length) return;
      rest = bytes.subarray(n);
    }
    this.dropped += this.out.writeOverwriting(rest);
  }

  writable(): void {
    while (this.out.length > 0) {
      const chunk = this.out.peek(this.out.length);
      const n = this.ctx.write(chunk);
      this.out.skip(n);
      if (n < chunk.length) return;
    }
  }

  data(bytes: Uint8Array): void {
    if (this.readOnly) {
      // Observers' keys go nowhere (but the escape still works for them, to detach).
      if (this.ctx.pty) this.escapeOnly(bytes);
      this.ctx.consume(bytes.length);
      return;
    }
    if (!this.ctx.pty || (this.escape === 0 && bytes.indexOf(ESCAPE_BYTE) < 0)) return this.input(bytes, bytes.length);
    // With a pty: look for the escape byte by byte.
    let from = 0;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (this.escape === 0) {
        if (c === ESCAPE_BYTE) {
          if (i > from) this.input(bytes.subarray(from, i), i - from);
          this.ctx.consume(1);
          this.escape = 1;
          from = i + 1;
        }
        continue;
      }
      this.ctx.consume(1);
      from = i + 1;
      this.escapeKey(c);
    }
    if (from < bytes.length) this.input(bytes.subarray(from), bytes.length - from);
  }

  private escapeOnly(bytes: Uint8Array): void {
    for (const c of bytes) {
      if (this.escape === 0) {
        if (c === ESCAPE_BYTE) this.escape = 1;
      } else this.escapeKey(c);
    }
  }

  private escapeKey(c: number): void {
    if (this.escape === 2) {
      if (c === 0x0d || c === 0x0a) {
        this.escape = 0;
        const args = this.escapeLine.trim().split(/\s+/).filter((s) => s !== "");
        this.escapeLine = "";
        const error = args.length === 0 ? null : this.readOnly ? "read-only session" : this.bridge.applySettings(args);
        this.note(error ? `[${error}]` : `[${this.bridge.name}: ${formatLine(this.bridge.port.line)}]`);
      } else if (c === 0x7f || c === 0x08) {
        this.escapeLine = this.escapeLine.slice(0, -1);
      } else if (c === 0x03 || c === 0x1b) {
        this.escape = 0;
        this.escapeLine = "";
        this.note("[cancelled]");
      } else if (c >= 0x20 && c < 0x7f && this.escapeLine.length < ESCAPE_LINE_MAX) {
        this.escapeLine += String.fromCharCode(c);
      }
      return;
    }
    this.escape = 0;
    switch (c) {
      case ESCAPE_BYTE: // Ctrl-] twice sends one
        if (!this.readOnly) this.input(Uint8Array.of(ESCAPE_BYTE), 0);
        return;
      case 0x62: // b
      case 0x42:
        if (this.readOnly) return this.note("[read-only session: no break]");
        this.bridge.port.sendBreak(ESCAPE_BREAK_MS);
        return this.note(`[break ${ESCAPE_BREAK_MS} ms]`);
      case 0x2e: // .
      case 0x71: // q
        this.note(`[detached from ${this.bridge.name}]`);
        this.ctx.exit(0);
        return;
      case 0x73: // s
        return this.note(`[${this.bridge.describe().join("\r\n ")}]`);
      case 0x3a: // :
        this.escape = 2;
        return this.note("[line settings, e.g. 9600 8N1, then Enter:]");
      default:
        return this.note(
          "[Ctrl-] then: b break | : set line (e.g. 9600 8N1) | s status | . detach | Ctrl-] send Ctrl-]]",
        );
    }
  }

  /** Sends input to the UART; `count` is how many channel bytes it stands for (0 for bytes we made). */
  private input(bytes: Uint8Array, count: number): void {
    if (this.held.length === 0) {
      const n = this.bridge.toUart(bytes);
      if (n > 0 && count > 0) this.ctx.consume(Math.min(n, count));
      if (n === bytes.length) return;
      bytes = bytes.subarray(n);
    }
    this.held.push(bytes.slice());
    this.heldBytes += bytes.length;
    if (this.heldBytes > this.bridge.maxHeldInput) this.bridge.maxHeldInput = this.heldBytes;
    this.bridge.wait(this);
  }

  /** Called when the UART can take more: true when everything held was taken. */
  pumpInput(): boolean {
    while (this.held.length > 0) {
      const chunk = this.held[0];
      const n = this.bridge.toUart(chunk);
      if (n > 0) this.ctx.consume(n);
      this.heldBytes -= n;
      if (n < chunk.length) {
        this.held[0] = chunk.subarray(n);
        return false;
      }
      this.held.shift();
    }
    if (this.eofReceived) this.ctx.exit(0);
    return true;
  }

  eof(): void {
    // `ssh board < file`: end once everything has reached the UART.
    this.eofReceived = true;
    if (this.held.length === 0) this.ctx.exit(0);
  }

  break(ms: number): boolean {
    if (this.readOnly) return false;
    this.bridge.port.sendBreak(ms);
    return true;
  }

  closed(): void {
    this.gone = true;
    this.held.length = 0;
    this.heldBytes = 0;
    this.bridge.removed(this);
  }
}
