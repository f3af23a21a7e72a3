// Firmware updates over SSH, the same on every firmware host: an image arrives at `/ota` (SFTP, as
// `scp firmware.bin console@board:/ota` sends it, or legacy `scp -O`) or on the input of
// `ssh board ota < firmware.bin`, is checked as it streams into the passive slot, and boots only
// after `ota commit`. The new firmware stays on trial until its SSH server accepts a login within
// OTA_TRIAL_MS; otherwise it rolls back to the image that ran before.
//
// The host brings the slots (OtaHost: Moddable's OTA module + ESP-IDF's rollback state on an ESP32,
// two NOR flash slots and the boot selector in the QEMU stand-in) and its image format (ImageFormat:
// ESP-IDF app images on an ESP32, espImageFormat below). Everything is fed synchronously as bytes
// arrive: a write returns once the bytes are on flash, so the SSH window (re-opened only after a
// write) is the flow control, and no more than one request's bytes are ever held.
//
// What never changes the running firmware: a cut connection, a wrong or truncated image, a write
// error; each drops the upload (the passive slot is left unbootable) and says why.

import type { DeviceApps } from "../console/apps.js";
import { fail, printAndExit } from "../console/commands.js";
import { isAdmin } from "../console/roles.js";
import { Sha256, type Sha256Stream } from "../crypto/sha256.js";
import type { SessionContext, SessionProgram } from "../ssh/session.js";
import type { Files, Upload } from "./files.js";
import { StoreError, type FileHandle, type Stat } from "./store.js";

/** The path images are uploaded to (`scp firmware.bin board:/ota`), as a store path. */
export const OTA_PATH = "ota";
/** How long a freshly booted image has to accept an SSH login before it is rolled back: long enough
 * for a person to notice the reboot and log in, short enough that a broken image does not keep the
 * board unreachable for long. */
export const OTA_TRIAL_MS = 10 * 60_000;
/** Delay between `ota commit --reboot` answering and the reboot, so the answer reaches the client. */
export const OTA_REBOOT_DELAY_MS = 1000;
/** Longest version string kept from an image header. */
export const OTA_MAX_VERSION = 32;

/** What a checked image is. */
export interface ImageInfo {
  /** The image's version string ("" when it has none). */
  version: string;
  /** Bytes of the whole image, appended digest included. */
  size: number;
}

/** Checks an image as it streams. Each call throws StoreError("EINVAL", reason) at the first byte
 * that cannot be right, so a wrong file is refused at once, not after it was all sent. */
export interface ImageCheck {
  push(data: Uint8Array): void;
  /** After the last byte: the image's facts, or a throw when it is short or its digest is wrong. */
  end(): ImageInfo;
}

export interface ImageFormat {
  /** Shown in messages: "ESP32-C3 app image", "XSOTA (QEMU stand-in)". */
  readonly name: string;
  check(maxSize: number, hash: Sha256Stream): ImageCheck;
}

/** One image slot as `ota status` shows it. */
export interface SlotInfo {
  /** "ota_0", "ota_1", "factory". */
  label: string;
  /** The version of the image in it, or null when it holds none (erased, or not a valid image). */
  version: string | null;
  /** "running", "valid", "boots next (on trial)", "on trial", "invalid", "empty", ... */
  state: string;
  running: boolean;
}

/** Where an image is written. write() returns once `data` is on flash. */
export interface OtaSink {
  write(data: Uint8Array): void;
  /** All bytes written and checked by the core: the host's own check (esp_ota_end). Throws if bad. */
  end(): void;
  /** Drops what was written; the slot is left unbootable. */
  abort(): void;
}

/** The platform's side of OTA. */
export interface OtaHost {
  readonly format: ImageFormat;
  /** Bytes the passive slot holds. */
  readonly slotSize: number;
  /** The version of the running firmware. */
  readonly runningVersion: string;
  /** Every slot, for `ota status`. */
  slots(): SlotInfo[];
  /** Starts writing the passive slot (it is erased as needed). */
  begin(): OtaSink;
  /** Makes the image last written (and ended) the one the next boot tries, on trial. */
  activate(): void;
  /** True when the running image booted for the first time after an update and is on trial. */
  onTrial(): boolean;
  /** Keeps the running image (cancels the rollback). */
  markValid(): void;
  /** Marks the running image bad and reboots into the one before (does not return on a board). */
  rollback(): void;
  reboot(): void;
  /** A SHA-256 of the platform's (hardware) when it has one; otherwise the core's own. */
  createSha256?(): Sha256Stream;
}

export interface OtaOptions {
  log(line: string): void;
  now(): number;
  /** Default OTA_TRIAL_MS. */
  trialMs?: number;
}

/** Firmware updates: one upload at a time, the trial of a new image, the `ota` commands. */
export class Ota {
  private uploading: OtaUpload | null = null;
  /** The image written and checked, waiting for `ota commit`. */
  staged: ImageInfo | null = null;
  private trialUntil = -1;
  private rebootAt = -1;
  readonly trialMs: number;

  constructor(readonly host: OtaHost, private readonly o: OtaOptions) {
    this.trialMs = o.trialMs ?? OTA_TRIAL_MS;
    if (host.onTrial()) {
      this.trialUntil = o.now() + this.trialMs;
      o.log(`ota: firmware ${host.runningVersion} is on trial: it is kept once an SSH login succeeds within ${Math.round(this.trialMs / 1000)} s, otherwise the board rolls back`);
    }
  }

  /** The SSH server accepted a login: an image on trial is kept. */
  loggedIn(): void {
    if (this.trialUntil < 0) return;
    this.trialUntil = -1;
    this.host.markValid();
    this.o.log(`ota: a login succeeded: firmware ${this.host.runningVersion} marked valid`);
  }

  get onTrial(): boolean {
    return this.trialUntil >= 0;
  }

  /** About once a second: the trial's deadline, a reboot asked for. */
  tick(): void {
    const now = this.o.now();
    if (this.trialUntil >= 0 && now >= this.trialUntil) {
      this.trialUntil = -1;
      this.o.log(`ota: no SSH login within ${Math.round(this.trialMs / 1000)} s: rolling back from firmware ${this.host.runningVersion}`);
      this.host.rollback();
    }
    if (this.rebootAt >= 0 && now >= this.rebootAt) {
      this.rebootAt = -1;
      this.o.log("ota: rebooting");
      this.host.reboot();
    }
  }

  /** Starts an upload into the passive slot. */
  begin(): OtaUpload {
    if (this.uploading) throw new StoreError("EINVAL", "another firmware upload is in progress");
    if (this.onTrial) throw new StoreError("EINVAL", `firmware ${this.host.runningVersion} is on trial (log in to keep it) before another update`);
    this.staged = null;
    const hash = this.host.createSha256 ? this.host.createSha256() : new Sha256();
    const check = this.host.format.check(this.host.slotSize, hash);
    const sink = this.host.begin();
    this.uploading = new OtaUpload(this, check, sink);
    return this.uploading;
  }

  /** Called by an upload when it ends either way. */
  ended(upload: OtaUpload, info: ImageInfo | null, why: string): void {
    if (this.uploading === upload) this.uploading = null;
    if (info) {
      this.staged = info;
      this.o.log(`ota: image ${info.version || "(no version)"} (${info.size} bytes) checked and written; 'ota commit' boots it`);
    } else this.o.log(`ota: upload dropped, the running firmware is unchanged: ${why}`);
  }

  /** `ota commit`: the staged image boots next. */
  commit(reboot: boolean): string {
    if (this.uploading) throw new StoreError("EINVAL", "a firmware upload is still in progress");
    const staged = this.staged;
    if (!staged) throw new StoreError("EINVAL", "nothing to commit: upload an image first (scp firmware.bin board:/ota)");
    this.host.activate();
    this.staged = null;
    if (reboot) this.rebootAt = this.o.now() + OTA_REBOOT_DELAY_MS;
    this.o.log(`ota: firmware ${staged.version} boots next${reboot ? "; rebooting" : ""}`);
    return `firmware ${staged.version || "(no version)"} boots next, on trial: it must accept an SSH login within ${Math.round(this.trialMs / 1000)} s of booting or the board rolls back${reboot ? "\nrebooting" : "\nreboot to start it (ota commit --reboot does both)"}\n`;
  }

  statusLines(): string[] {
    const lines = [`firmware: ${this.host.runningVersion}${this.onTrial ? " (on trial: log in to keep it)" : ""}`];
    for (const s of this.host.slots()) lines.push(`slot ${s.label}: ${s.version ?? "-"} (${s.state}${s.running ? ", running" : ""})`);
    if (this.uploading) lines.push(`upload: ${this.uploading.received} bytes received so far`);
    else if (this.staged) lines.push(`staged: ${this.staged.version} (${this.staged.size} bytes): 'ota commit' boots it`);
    return lines;
  }
}

/** An image upload: bytes in order, checked, then onto the passive slot. Also the Upload that SFTP
 * and scp drive through `/ota`. */
export class OtaUpload implements Upload {
  readonly target = OTA_PATH;
  received = 0;
  private failed: string | null = null;
  private done = false;
  readonly handle: FileHandle;

  constructor(private readonly ota: Ota, private readonly check: ImageCheck, private readonly sink: OtaSink) {
    const self = this;
    this.handle = {
      read() {
        throw new StoreError("EINVAL", "the OTA slot cannot be read back");
      },
      write(offset, data) {
        self.write(offset, data);
      },
      size: () => this.received,
      truncate: (size) => this.truncate(size),
      sync() {},
      close() {},
    };
  }

  write(offset: number, data: Uint8Array): void {
    if (this.failed !== null) throw new StoreError("EINVAL", this.failed);
    if (this.done) throw new StoreError("EINVAL", "the image upload has ended");
    if (offset !== this.received) return this.refuse("EINVAL", `firmware images are taken in order: a write at ${offset}, ${this.received} bytes received`);
    try {
      this.check.push(data);
      this.sink.write(data);
    } catch (e) {
      return this.refuse(e instanceof StoreError ? e.code : "EIO", e instanceof Error ? e.message : String(e));
    }
    this.received += data.length;
  }

  size(): number {
    return this.received;
  }

  /** SFTP clients set the size to what they wrote (OpenSSH always does): nothing else is allowed. */
  truncate(size: number): void {
    if (size !== this.received) this.refuse("EINVAL", `a firmware image cannot be resized (${size} bytes asked, ${this.received} received)`);
  }

  commit(): void {
    if (this.failed !== null) throw new StoreError("EINVAL", this.failed);
    if (this.done) return;
    let info: ImageInfo;
    try {
      info = this.check.end();
      this.sink.end();
    } catch (e) {
      return this.refuse(e instanceof StoreError ? e.code : "EIO", e instanceof Error ? e.message : String(e));
    }
    this.done = true;
    this.ota.ended(this, info, "");
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.failed === null) this.failed = "cut off";
    this.sink.abort();
    this.ota.ended(this, null, this.failed);
  }

  private refuse(code: StoreError["code"], message: string): never {
    const text = message.startsWith("firmware image refused") ? message : `firmware image refused: ${message}`;
    if (!this.done) {
      this.failed = text;
      this.done = true;
      this.sink.abort();
      this.ota.ended(this, null, text);
    }
    throw new StoreError(code, `${text} (the running firmware is unchanged)`);
  }
}

// ---- ESP-IDF app images (esp_image_format.h) ----

/** ESP_IMAGE_HEADER_MAGIC, the first byte of every ESP image. */
export const ESP_IMAGE_MAGIC = 0xe9;
/** esp_image_header_t (24 bytes) and esp_image_segment_header_t (8 bytes). */
const ESP_HEADER_BYTES = 24;
const ESP_SEGMENT_HEADER_BYTES = 8;
/** ESP_IMAGE_MAX_SEGMENTS. */
export const ESP_MAX_SEGMENTS = 16;
/** esp_app_desc_t's magic (ESP_APP_DESC_MAGIC_WORD) at the start of the first segment's data. */
const ESP_APP_DESC_MAGIC = 0xabcd5432;
/** Where esp_app_desc_t's version[32] lies in the image: header 24 + segment header 8 + 16. */
const ESP_APP_DESC_AT = ESP_HEADER_BYTES + ESP_SEGMENT_HEADER_BYTES;
const ESP_VERSION_AT = ESP_APP_DESC_AT + 16;
/** Bytes of the image start kept for the app description. */
const ESP_HEAD_KEPT = ESP_VERSION_AT + OTA_MAX_VERSION;
/** The XOR checksum's start value (ESP_ROM_CHECKSUM_INITIAL). */
const ESP_CHECKSUM_INITIAL = 0xef;
const DIGEST_BYTES = 32;

/** esp_chip_id_t values of the chips Moddable builds for. */
export const ESP_CHIP_IDS: Readonly<Record<string, number>> = Object.freeze({
  esp32: 0x0000,
  esp32s2: 0x0002,
  esp32c3: 0x0005,
  esp32s3: 0x0009,
  esp32c2: 0x000c,
  esp32c6: 0x000d,
  esp32h2: 0x0010,
  esp32p4: 0x0012,
  esp32c5: 0x0017,
});

function hex2(n: number): string {
  return "0x" + (n < 16 ? "0" : "") + n.toString(16);
}

/** Text of a NUL-padded field. */
export function cString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length && bytes[i] !== 0; i++) s += bytes[i] >= 0x20 && bytes[i] < 0x7f ? String.fromCharCode(bytes[i]) : "?";
  return s;
}

/** ESP-IDF app images for the chip `chip` (a key of ESP_CHIP_IDS): magic, chip id, segment table,
 * the XOR checksum and the appended SHA-256 (hash_appended must be set, as idf.py builds them). */
export function espImageFormat(chip: string): ImageFormat {
  const chipId = ESP_CHIP_IDS[chip];
  if (chipId === undefined) throw new RangeError(`espImageFormat: unknown chip ${chip}`);
  return {
    name: `${chip.toUpperCase()} app image`,
    check: (maxSize, hash) => new EspImageCheck(chip, chipId, maxSize, hash),
  };
}

const ST_HEADER = 0, ST_SEGMENT_HEADER = 1, ST_SEGMENT = 2, ST_PAD = 3, ST_DIGEST = 4, ST_DONE = 5;

class EspImageCheck implements ImageCheck {
  private state = ST_HEADER;
  private pos = 0;
  /** Bytes collected for the current header (image header, segment header, digest). */
  private readonly field = new Uint8Array(DIGEST_BYTES);
  private fieldLen = 0;
  private readonly head = new Uint8Array(ESP_HEAD_KEPT);
  private segments = 0;
  private segment = 0;
  private left = 0;
  private checksum = ESP_CHECKSUM_INITIAL;
  private storedChecksum = -1;
  private computed: Uint8Array | null = null;

  constructor(
    private readonly chip: string,
    private readonly chipId: number,
    private readonly maxSize: number,
    private readonly hash: Sha256Stream,
  ) {}

  private bad(why: string): never {
    throw new StoreError("EINVAL", `not an ${this.chip.toUpperCase()} app image: ${why}`);
  }

  push(data: Uint8Array): void {
    if (this.pos + data.length > this.maxSize) throw new StoreError("ENOSPC", `image larger than the ${this.maxSize}-byte OTA slot`);
    if (this.pos < ESP_HEAD_KEPT) this.head.set(data.subarray(0, ESP_HEAD_KEPT - this.pos), this.pos);
    let i = 0;
    while (i < data.length) {
      const s = this.state;
      if (s === ST_SEGMENT) {
        const n = Math.min(this.left, data.length - i);
        let c = this.checksum;
        for (let k = i; k < i + n; k++) c ^= data[k];
        this.checksum = c;
        this.hash.update(data.subarray(i, i + n));
        i += n;
        this.pos += n;
        this.left -= n;
        if (this.left === 0) this.nextSegment();
      } else if (s === ST_PAD) {
        // Zero padding up to the checksum byte, the last of a 16-byte block.
        const b = data[i++];
        this.hash.update(data.subarray(i - 1, i));
        if ((this.pos & 15) === 15) {
          this.storedChecksum = b;
          this.state = ST_DIGEST;
          this.fieldLen = 0;
        }
        this.pos++;
      } else if (s === ST_DONE) {
        this.bad(`${data.length - i} bytes after the appended SHA-256`);
      } else {
        const want = s === ST_HEADER ? ESP_HEADER_BYTES : s === ST_SEGMENT_HEADER ? ESP_SEGMENT_HEADER_BYTES : DIGEST_BYTES;
        const n = Math.min(want - this.fieldLen, data.length - i);
        this.field.set(data.subarray(i, i + n), this.fieldLen);
        if (s !== ST_DIGEST) this.hash.update(data.subarray(i, i + n));
        this.fieldLen += n;
        i += n;
        this.pos += n;
        if (this.fieldLen === want) {
          this.fieldLen = 0;
          if (s === ST_HEADER) this.header();
          else if (s === ST_SEGMENT_HEADER) this.segmentHeader();
          else {
            this.computed = this.hash.digest();
            this.state = ST_DONE;
          }
        }
      }
    }
  }

  private header(): void {
    const h = this.field;
    if (h[0] !== ESP_IMAGE_MAGIC) this.bad(`first byte ${hex2(h[0])}, an ESP image starts with ${hex2(ESP_IMAGE_MAGIC)}`);
    const id = h[12] | (h[13] << 8);
    if (id !== this.chipId) {
      let name = `chip id ${id}`;
      for (const k in ESP_CHIP_IDS) if (ESP_CHIP_IDS[k] === id) name = k.toUpperCase();
      this.bad(`built for ${name}, this board is an ${this.chip.toUpperCase()}`);
    }
    this.segments = h[1];
    if (this.segments < 1 || this.segments > ESP_MAX_SEGMENTS) this.bad(`${this.segments} segments (1 to ${ESP_MAX_SEGMENTS} expected)`);
    if (h[23] !== 1) this.bad("no SHA-256 appended (hash_appended is 0)");
    this.segment = 0;
    this.state = ST_SEGMENT_HEADER;
  }

  private segmentHeader(): void {
    const f = this.field;
    const len = (f[4] | (f[5] << 8) | (f[6] << 16) | (f[7] << 24)) >>> 0;
    if (this.pos + len > this.maxSize) throw new StoreError("ENOSPC", `image larger than the ${this.maxSize}-byte OTA slot (segment ${this.segment}: ${len} bytes)`);
    if (len % 4 !== 0) this.bad(`segment ${this.segment} of ${len} bytes (not a multiple of 4)`);
    this.left = len;
    if (len === 0) this.nextSegment();
    else this.state = ST_SEGMENT;
  }

  private nextSegment(): void {
    this.segment++;
    if (this.segment < this.segments) this.state = ST_SEGMENT_HEADER;
    else this.state = ST_PAD;
  }

  end(): ImageInfo {
    if (this.state !== ST_DONE) throw new StoreError("EINVAL", `image cut short: ${this.pos} bytes received, the image's own table says more`);
    if (this.pos < ESP_HEAD_KEPT) this.bad("too short for an app description");
    const h = this.head;
    const magic = (h[ESP_APP_DESC_AT] | (h[ESP_APP_DESC_AT + 1] << 8) | (h[ESP_APP_DESC_AT + 2] << 16) | (h[ESP_APP_DESC_AT + 3] << 24)) >>> 0;
    if (magic !== ESP_APP_DESC_MAGIC) this.bad("no app description (a bootloader or partition table, not an app?)");
    if (this.storedChecksum !== this.checksum) this.bad(`checksum ${hex2(this.storedChecksum)}, the segments give ${hex2(this.checksum)}`);
    const digest = this.computed!;
    for (let i = 0; i < DIGEST_BYTES; i++) if (digest[i] !== this.field[i]) this.bad("the appended SHA-256 does not match the image (damaged in transfer?)");
    return { version: cString(h.subarray(ESP_VERSION_AT, ESP_VERSION_AT + OTA_MAX_VERSION)), size: this.pos };
  }
}

// ---- the `ota` command and the `/ota` path ----

const OTA_USAGE = "usage: ota (with an image on input: ssh board ota < firmware.bin) | ota status | ota commit [--reboot]";

/** Registers `/ota` (uploads go to the passive slot) and the `ota` command; `info` shows the
 * firmware and its slots. */
export function installOta(apps: DeviceApps, files: Files, ota: Ota): void {
  files.addSpecial(OTA_PATH, {
    unreadable: "takes firmware images; it cannot be read",
    stat(): Stat {
      return { name: OTA_PATH, size: 0, mtime: 0, atime: 0, isDirectory: false, mode: 0o200 };
    },
    beginUpload: () => ota.begin(),
  });
  apps.commands.register({
    name: "ota",
    summary: "firmware update: ota < firmware.bin, ota status, ota commit [--reboot]",
    run: (ctx, args) => {
      const sub = args[0] ?? "";
      if (sub === "status" && args.length === 1) return printAndExit(ctx, ota.statusLines().join("\n") + "\n");
      if (!isAdmin(ctx)) return fail(ctx, "ota: only an administrator may update the firmware", 1);
      if (sub === "commit" && (args.length === 1 || (args.length === 2 && args[1] === "--reboot"))) {
        try {
          return printAndExit(ctx, ota.commit(args.length === 2));
        } catch (e) {
          return fail(ctx, `ota: ${e instanceof Error ? e.message : String(e)}`, 1);
        }
      }
      if (args.length === 0) return receiveImage(ctx, ota);
      return fail(ctx, OTA_USAGE, 2);
    },
  });
  apps.commands.infoSections.push(() => ota.statusLines());
}

/** `ssh board ota < firmware.bin`: the image on input, for clients without SFTP. */
function receiveImage(ctx: SessionContext, ota: Ota): SessionProgram {
  if (ctx.pty) return fail(ctx, "ota: send the image on input without a terminal: ssh board ota < firmware.bin", 2);
  let upload: OtaUpload | null = null;
  let finished = false;
  const finish = (message: string, status: number) => {
    if (finished) return;
    finished = true;
    ctx.print(message, status !== 0);
    ctx.exit(status);
  };
  const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));
  return {
    start() {
      try {
        upload = ota.begin();
      } catch (e) {
        finish(`ota: ${describe(e)}\n`, 1);
      }
    },
    data(bytes) {
      // Consumed once written: the window re-opens only as fast as the flash takes the image.
      if (!finished && upload) {
        try {
          upload.write(upload.received, bytes);
        } catch (e) {
          finish(`ota: ${describe(e)}\n`, 1);
        }
      }
      ctx.consume(bytes.length);
    },
    eof() {
      if (finished || !upload) return;
      try {
        upload.commit();
      } catch (e) {
        return finish(`ota: ${describe(e)}\n`, 1);
      }
      const info = ota.staged;
      finish(`ota: image ${info?.version || "(no version)"} (${info?.size ?? 0} bytes) checked and written; 'ota commit --reboot' boots it\n`, 0);
    },
    closed() {
      if (!finished && upload) upload.abort();
      finished = true;
    },
  };
}
