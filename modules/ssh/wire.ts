// SSH data type representations (RFC 4251 section 5): byte, boolean, uint32, uint64, string, mpint,
// name-list. One reader and one writer used by every message in the core.

/** Thrown by SshReader when a field runs past the end of its packet; the transport turns it into a
 * PROTOCOL_ERROR disconnect, never a crash. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
  }

  /** On the prototype, never an assignment to the instance's name: where the built-ins are frozen (the Moddable XS
   * linker freezes them when anything is preloaded) assigning over Error.prototype's `name` throws
   * "set name: not writable" (the override mistake). test/esp32-sim runs with frozen built-ins. */
  override get name(): string {
    return "WireError";
  }
}

/** Reads fields from one packet payload. Strings are returned as views into the payload (no copy). */
export class SshReader {
  pos: number;
  readonly end: number;
  constructor(readonly buf: Uint8Array, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  private need(n: number, what: string): void {
    if (n > this.end - this.pos) throw new WireError(`${what} runs past the end of the packet`);
  }
  byte(): number {
    this.need(1, "byte");
    return this.buf[this.pos++];
  }
  boolean(): boolean {
    return this.byte() !== 0;
  }
  uint32(): number {
    this.need(4, "uint32");
    const b = this.buf, p = this.pos;
    this.pos = p + 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }
  /** uint64 as a JS number; exact below 2^53, which covers every value SSH puts in one here. */
  uint64(): number {
    const hi = this.uint32();
    return hi * 0x100000000 + this.uint32();
  }
  /** A `string` (uint32 length + bytes) as a view into the payload. */
  string(): Uint8Array {
    const n = this.uint32();
    this.need(n, "string");
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** An mpint (RFC 4251 section 5) that must be non-negative: its magnitude as a view, without
   * the leading zero byte that keeps the top bit clear. Refuses negative numbers and
   * non-minimal encodings (extra leading zeros), as OpenSSH's sshbuf_get_bignum2 does. */
  mpint(): Uint8Array {
    const s = this.string();
    if (s.length === 0) return s;
    if ((s[0] & 0x80) !== 0) throw new WireError("negative mpint");
    if (s[0] === 0) {
      if (s.length === 1 || (s[1] & 0x80) === 0) throw new WireError("mpint with a superfluous leading zero");
      return s.subarray(1);
    }
    return s;
  }
  /** A `string` holding UTF-8 text (RFC 4251 allows ISO-10646 UTF-8 in user names and messages). */
  text(): string {
    return utf8Decode(this.string());
  }
  /** A name-list: comma-separated US-ASCII names; an empty string is an empty list. */
  nameList(): string[] {
    const s = this.string();
    if (s.length === 0) return [];
    return asciiDecode(s).split(",");
  }
  /** The rest of the payload as a view. */
  rest(): Uint8Array {
    const s = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return s;
  }
  /** Fails when bytes are left over after the last field a message defines. */
  done(what: string): void {
    if (this.pos !== this.end) throw new WireError(`${what} has ${this.end - this.pos} trailing bytes`);
  }
}

/** Writes fields into a growable buffer. Reuse one writer (reset()) to avoid per-packet garbage. */
export class SshWriter {
  buf: Uint8Array;
  pos = 0;
  /** Growth doubles the buffer but stops at `limit` when what is needed fits in it (the transport's
   * packet writer: one largest packet, not twice that). */
  constructor(initial = 256, private readonly limit = Infinity) {
    this.buf = new Uint8Array(initial);
  }
  /** Gives back a buffer that grew for large packets (an idle connection keeps only `size`). */
  shrink(size: number): void {
    if (this.buf.length > size && this.pos <= size) this.buf = this.buf.slice(0, size);
  }
  reset(start = 0): this {
    this.pos = start;
    return this;
  }
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    if (size > this.limit && need <= this.limit) size = this.limit;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  byte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }
  boolean(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }
  uint32(v: number): this {
    this.ensure(4);
    const b = this.buf, p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
    return this;
  }
  uint64(v: number): this {
    return this.uint32(Math.floor(v / 0x100000000)).uint32(v >>> 0);
  }
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }
  string(bytes: Uint8Array): this {
    return this.uint32(bytes.length).raw(bytes);
  }
  text(s: string): this {
    return this.string(utf8Encode(s));
  }
  nameList(names: readonly string[]): this {
    return this.string(asciiEncode(names.join(",")));
  }
  /** mpint (RFC 4251 section 5) of an unsigned big-endian magnitude, e.g. the curve25519 shared
   * secret: leading zero bytes stripped, one 0x00 prepended when the top bit is set. */
  mpint(magnitude: Uint8Array): this {
    let i = 0;
    while (i < magnitude.length && magnitude[i] === 0) i++;
    const body = magnitude.subarray(i);
    const pad = body.length > 0 && (body[0] & 0x80) !== 0 ? 1 : 0;
    this.uint32(body.length + pad);
    if (pad) this.byte(0);
    return this.raw(body);
  }
  /** A copy of what was written. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
  /** A view of what was written (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export function asciiEncode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0x7f;
  return out;
}

export function asciiDecode(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** UTF-8 encoder (ES2022 has no TextEncoder; XS hosts may lack it). Lone surrogates become U+FFFD.
 * Two passes straight into a Uint8Array of the exact length: an intermediate number[] costs a
 * 16-byte XS slot per byte and grows in one chunk (a 7 KB keys file asked a board for 57 KiB). */
export function utf8Encode(s: string): Uint8Array {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3; // BMP, or a lone surrogate (U+FFFD)
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    } else {
      out[o++] = 0xf0 | (c >> 18);
      out[o++] = 0x80 | ((c >> 12) & 63);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    }
  }
  return out;
}

/** UTF-8 decoder; malformed sequences become U+FFFD rather than throwing. */
export function utf8Decode(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    let cp = 0xfffd, n = 1;
    if (c < 0x80) cp = c;
    else if (c >= 0xc2 && c < 0xe0 && i + 1 < b.length && (b[i + 1] & 0xc0) === 0x80) {
      cp = ((c & 31) << 6) | (b[i + 1] & 63);
      n = 2;
    } else if (c >= 0xe0 && c < 0xf0 && i + 2 < b.length && (b[i + 1] & 0xc0) === 0x80 && (b[i + 2] & 0xc0) === 0x80) {
      cp = ((c & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63);
      n = 3;
      if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
    } else if (c >= 0xf0 && c < 0xf5 && i + 3 < b.length && (b[i + 1] & 0xc0) === 0x80 && (b[i + 2] & 0xc0) === 0x80 && (b[i + 3] & 0xc0) === 0x80) {
      cp = ((c & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63);
      n = 4;
      if (cp < 0x10000 || cp > 0x10ffff) cp = 0xfffd;
    }
    s += String.fromCodePoint(cp);
    i += n;
  }
  return s;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 (RFC 4648 section 4), with or without '=' padding. */
export function base64Encode(b: Uint8Array, pad = true): string {
  let s = "";
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  if (i < b.length) {
    const v = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    s += B64[v >> 18] + B64[(v >> 12) & 63];
    s += i + 1 < b.length ? B64[(v >> 6) & 63] : pad ? "=" : "";
    s += pad ? "=" : "";
  }
  return s;
}

/** True when s is base64 text: one or more characters of the standard alphabet, then (with `padded`)
 * up to two "=". A loop, not a RegExp: XS's RegExp engine keeps a backtracking state per character
 * of a `[...]+` (an RSA key's 544 characters fill the free XS stack, then malloc). */
export function isBase64Text(s: string, padded: boolean): boolean {
  let end = s.length;
  if (padded) for (let k = 0; k < 2 && end > 0 && s.charCodeAt(end - 1) === 0x3d; k++) end--;
  if (end === 0) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!ok) return false;
  }
  return true;
}

/** Decodes standard base64, ignoring whitespace; returns null on any other invalid character. */
export function base64Decode(s: string): Uint8Array | null {
  // At most 6 bits per character, written straight into bytes (no number[]: a slot per byte in XS).
  const out = new Uint8Array((s.length * 6) >>> 3);
  let o = 0;
  let acc = 0, bits = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "=") break;
    if (ch === " " || ch === "\n" || ch === "\r" || ch === "\t") continue;
    const v = B64.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o === out.length ? out : out.slice(0, o);
}

export function hexEncode(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
  return s;
}
