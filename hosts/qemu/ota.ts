// Firmware updates in the QEMU stand-in: the OtaHost of modules/files/ota.ts over two slots of the
// emulated flash bank and the boot records firmware/boot_select.c reads at boot (layout and record
// format: firmware/board.h, boot_select.c; mirrored here), and the XSOTA image format:
//
//   "XSOTA001" | u32 LE body bytes | u32 flags (0) | version[32] NUL-padded | 16 zero bytes |
//   body (XS bytecode of hosts/qemu/main.ts, "XSBC...") | SHA-256 of everything before it
//
// It stands in for an ESP-IDF app image: what a slot holds is the JS program (the C runtime, XS and
// the drivers are the image's own), checked with a header and an appended SHA-256 as ESP images are.
// Preload-safe (no module-level typed arrays): this runs in the firmware bundle and in node (build).

import { StoreError } from "../../modules/files/store.js";
import { cString, OTA_MAX_VERSION, type ImageCheck, type ImageFormat, type ImageInfo, type OtaHost, type OtaSink, type SlotInfo } from "../../modules/files/ota.js";
import type { Sha256Stream } from "../../modules/crypto/sha256.js";
import type { NativeFlash } from "./flash.js";
import type { BootChoice, NativeBoard } from "./natives.js";

export const XSOTA_MAGIC = "XSOTA001";
export const XSOTA_HEADER_BYTES = 64;
export const XSOTA_DIGEST_BYTES = 32;
/** Bank offsets (firmware/board.h BOARD_OTA_*). */
export const OTA_DATA_OFFSET = 0x200000;
export const OTA_SLOT_OFFSETS: readonly number[] = Object.freeze([0x400000, 0x600000]);
export const OTA_SLOT_SIZE = 0x100000;
const RECORD_BYTES = 32;
const FACTORY = 0xff;
const ST_NEW = 1, ST_PENDING = 2, ST_VALID = 3, ST_INVALID = 4;
const STATE_NAMES: readonly string[] = Object.freeze(["?", "boots next (on trial)", "on trial", "valid", "invalid (rolled back)"]);

function le32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v; b[at + 1] = v >>> 8; b[at + 2] = v >>> 16; b[at + 3] = v >>> 24;
}
function fnv1a(b: Uint8Array, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  return h >>> 0;
}

/** The XSOTA header for a body of `bodyBytes` and `version` (the build and the tests use it). */
export function xsotaHeader(bodyBytes: number, version: string): Uint8Array {
  const h = new Uint8Array(XSOTA_HEADER_BYTES);
  for (let i = 0; i < 8; i++) h[i] = XSOTA_MAGIC.charCodeAt(i);
  put32(h, 8, bodyBytes);
  for (let i = 0; i < version.length && i < OTA_MAX_VERSION; i++) h[16 + i] = version.charCodeAt(i) & 0x7f;
  return h;
}

export const xsotaFormat: ImageFormat = {
  name: "XSOTA image (QEMU stand-in)",
  check: (maxSize, hash) => new XsotaCheck(maxSize, hash),
};

class XsotaCheck implements ImageCheck {
  private pos = 0;
  private readonly head = new Uint8Array(XSOTA_HEADER_BYTES + 4);
  private total = -1;
  private readonly digest = new Uint8Array(XSOTA_DIGEST_BYTES);
  private computed: Uint8Array | null = null;

  constructor(private readonly maxSize: number, private readonly hash: Sha256Stream) {}

  private bad(why: string): never {
    throw new StoreError("EINVAL", `not an XSOTA image: ${why}`);
  }

  push(data: Uint8Array): void {
    const headBytes = this.head.length;
    let i = 0;
    if (this.pos < headBytes) {
      const n = Math.min(headBytes - this.pos, data.length);
      this.head.set(data.subarray(0, n), this.pos);
      if (this.pos + n >= 8 && this.pos < 8) {
        for (let k = 0; k < 8; k++) if (this.head[k] !== XSOTA_MAGIC.charCodeAt(k)) this.bad(`it starts with ${JSON.stringify(cString(this.head.subarray(0, 8)))}, an XSOTA image with "${XSOTA_MAGIC}"`);
      }
      if (this.pos + n >= 12 && this.total < 0) {
        const body = le32(this.head, 8);
        if (body < 4) this.bad(`a body of ${body} bytes`);
        this.total = XSOTA_HEADER_BYTES + body + XSOTA_DIGEST_BYTES;
        if (this.total > this.maxSize) throw new StoreError("ENOSPC", `image of ${this.total} bytes, larger than the ${this.maxSize}-byte OTA slot`);
      }
      if (this.pos + n === headBytes) {
        const b = this.head.subarray(XSOTA_HEADER_BYTES);
        if (b[0] !== 0x58 || b[1] !== 0x53 || b[2] !== 0x42 || b[3] !== 0x43) this.bad("its body is not XS bytecode");
      }
    }
    if (this.total >= 0 && this.pos + data.length > this.total) this.bad(`${this.pos + data.length - this.total} bytes after the appended SHA-256`);
    const hashEnd = this.total < 0 ? Infinity : this.total - XSOTA_DIGEST_BYTES;
    const hashed = Math.max(0, Math.min(data.length, hashEnd - this.pos));
    if (hashed > 0) this.hash.update(data.subarray(0, hashed));
    if (this.pos + hashed === hashEnd && !this.computed) this.computed = this.hash.digest();
    for (i = hashed; i < data.length; i++) this.digest[this.pos + i - hashEnd] = data[i];
    this.pos += data.length;
  }

  end(): ImageInfo {
    if (this.total < 0 || this.pos < this.total) throw new StoreError("EINVAL", `image cut short: ${this.pos} of ${this.total < 0 ? "?" : this.total} bytes`);
    const c = this.computed!;
    for (let i = 0; i < XSOTA_DIGEST_BYTES; i++) if (c[i] !== this.digest[i]) this.bad("the appended SHA-256 does not match the image (damaged in transfer?)");
    return { version: cString(this.head.subarray(16, 16 + OTA_MAX_VERSION)), size: this.pos };
  }
}

interface Record {
  seq: number;
  slot: number;
  state: number;
  prev: number;
  next: number;
  found: boolean;
}

/** Two slots on the flash bank and the boot records, as boot_select.c reads them. */
export class QemuOtaHost implements OtaHost {
  readonly format = xsotaFormat;
  readonly slotSize = OTA_SLOT_SIZE;
  readonly runningVersion: string;
  private readonly booted: BootChoice;
  /** Slot being written, and the erase blocks done so far. */
  private writing = -1;
  private written = -1;

  constructor(private readonly flash: NativeFlash, private readonly board: NativeBoard, version: string) {
    this.booted = board.boot();
    this.runningVersion = version;
  }

  get running(): number {
    return this.booted.slot;
  }

  private passive(): number {
    return this.running === 0 ? 1 : 0;
  }

  private record(): Record {
    const r: Record = { seq: 0, slot: 0, state: 0, prev: FACTORY, next: 0, found: false };
    const b = new Uint8Array(RECORD_BYTES);
    const count = this.flash.eraseSize / RECORD_BYTES;
    for (let i = 0; i < count; i++) {
      this.flash.read(OTA_DATA_OFFSET + i * RECORD_BYTES, b);
      let erased = true;
      for (let k = 0; k < RECORD_BYTES; k++) if (b[k] !== 0xff) erased = false;
      if (erased) break;
      r.next = i + 1;
      if (b[0] !== 0x4f || b[1] !== 0x54 || b[2] !== 0x41 || b[3] !== 0x44 || fnv1a(b, 28) !== le32(b, 28) || b[8] > 1) continue;
      r.seq = le32(b, 4);
      r.slot = b[8];
      r.state = b[9];
      r.prev = b[10];
      r.found = true;
    }
    return r;
  }

  private writeRecord(slot: number, state: number, prev: number): void {
    const r = this.record();
    const b = new Uint8Array(RECORD_BYTES);
    b[0] = 0x4f; b[1] = 0x54; b[2] = 0x41; b[3] = 0x44;
    put32(b, 4, r.found ? r.seq + 1 : 1);
    b[8] = slot;
    b[9] = state;
    b[10] = prev;
    put32(b, 28, fnv1a(b, 28));
    let next = r.next;
    if (next >= this.flash.eraseSize / RECORD_BYTES) {
      this.flash.erase(OTA_DATA_OFFSET);
      next = 0;
    }
    this.flash.program(OTA_DATA_OFFSET + next * RECORD_BYTES, b);
  }

  private slotVersion(slot: number): string | null {
    const h = new Uint8Array(XSOTA_HEADER_BYTES);
    this.flash.read(OTA_SLOT_OFFSETS[slot], h);
    for (let k = 0; k < 8; k++) if (h[k] !== XSOTA_MAGIC.charCodeAt(k)) return null;
    return cString(h.subarray(16, 16 + OTA_MAX_VERSION));
  }

  slots(): SlotInfo[] {
    const r = this.record();
    const out: SlotInfo[] = [];
    for (let s = 0; s < 2; s++) {
      const version = s === this.running ? this.runningVersion : this.slotVersion(s);
      let state = version === null ? "empty" : "not booted";
      if (r.found && r.slot === s) state = STATE_NAMES[r.state] ?? "?";
      else if (r.found && r.prev === s) state = "valid (the one before)";
      if (s === this.writing) state = "being written";
      out.push({ label: `ota_${s}`, version, state, running: s === this.running });
    }
    out.push({ label: "factory", version: this.running === -1 ? this.runningVersion : "(built in)", state: "fallback", running: this.running === -1 });
    return out;
  }

  begin(): OtaSink {
    const slot = this.passive();
    const base = OTA_SLOT_OFFSETS[slot];
    const block = this.flash.eraseSize;
    this.writing = slot;
    this.written = 0;
    // The first block at once: the old image's header goes, so a cut upload never boots.
    this.flash.erase(base);
    let erased = block;
    let pos = 0;
    return {
      write: (data) => {
        while (pos + data.length > erased) {
          this.flash.erase(base + erased);
          erased += block;
        }
        this.flash.program(base + pos, data);
        pos += data.length;
        this.written = pos;
      },
      end: () => {
        this.writing = -1;
        this.written = slot;
      },
      abort: () => {
        this.writing = -1;
        this.written = -1;
        this.flash.erase(base);
      },
    };
  }

  activate(): void {
    if (this.written !== this.passive()) throw new StoreError("EINVAL", "no checked image in the passive slot");
    this.writeRecord(this.passive(), ST_NEW, this.running < 0 ? FACTORY : this.running);
  }

  onTrial(): boolean {
    return this.booted.state === "trial";
  }

  markValid(): void {
    const r = this.record();
    this.writeRecord(this.running, ST_VALID, r.found ? r.prev : FACTORY);
  }

  rollback(): void {
    const r = this.record();
    this.writeRecord(this.running, ST_INVALID, r.found ? r.prev : FACTORY);
    this.board.reboot();
  }

  reboot(): void {
    this.board.reboot();
  }
}
