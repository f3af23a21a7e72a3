// Test helpers for firmware updates: ESP-IDF app images built the way esptool's elf2image lays them
// out (header, segments, XOR checksum in the last byte of a 16-byte block, appended SHA-256), and an
// OtaHost with two slots in memory that records what the core asked of it.

import { createHash } from "node:crypto";
import { ESP_CHIP_IDS, type ImageFormat, type OtaHost, type OtaSink, type SlotInfo } from "../../modules/files/ota.js";

export interface EspImageOptions {
  chip?: string;
  version?: string;
  /** Segment data sizes (multiples of 4); the first holds the app description. */
  segments?: number[];
  hashAppended?: boolean;
}

/** An ESP app image (esp_image_format.h, esp_app_format.h). */
export function espImage(o: EspImageOptions = {}): Buffer {
  const sizes = o.segments ?? [4096, 12_000, 700];
  const header = Buffer.alloc(24);
  header[0] = 0xe9;
  header[1] = sizes.length;
  header[2] = 2; // DIO
  header[3] = 0x1f; // 80 MHz, 2 MB
  header.writeUInt32LE(0x40380000, 4);
  header.writeUInt16LE(ESP_CHIP_IDS[o.chip ?? "esp32c3"], 12);
  header[23] = o.hashAppended === false ? 0 : 1;
  const parts: Buffer[] = [header];
  let checksum = 0xef;
  sizes.forEach((size, i) => {
    const data = Buffer.alloc(size);
    for (let k = 0; k < size; k++) data[k] = (k * 31 + i * 7) & 0xff;
    if (i === 0) {
      data.fill(0, 0, 256);
      data.writeUInt32LE(0xabcd5432, 0);
      data.write(o.version ?? "1.2.3", 16, "latin1");
      data.write("esp-ssh-console", 48, "latin1");
    }
    for (const b of data) checksum ^= b;
    const sh = Buffer.alloc(8);
    sh.writeUInt32LE(0x3c000020 + i * 0x10000, 0);
    sh.writeUInt32LE(size, 4);
    parts.push(sh, data);
  });
  let body = Buffer.concat(parts);
  const pad = 15 - (body.length % 16);
  body = Buffer.concat([body, Buffer.alloc(pad), Buffer.from([checksum])]);
  if (o.hashAppended === false) return body;
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

/** Two slots in memory; `events` records activate/markValid/rollback/reboot. */
export class MemoryOtaHost implements OtaHost {
  readonly slotSize: number;
  runningVersion: string;
  running = 0;
  trial = false;
  written: Buffer | null = null;
  writing: Buffer[] | null = null;
  versions: (string | null)[] = ["1.0.0", null];
  readonly events: string[] = [];

  constructor(readonly format: ImageFormat, o: { slotSize?: number; version?: string; trial?: boolean } = {}) {
    this.slotSize = o.slotSize ?? 64 * 1024;
    this.runningVersion = o.version ?? "1.0.0";
    this.versions[0] = this.runningVersion;
    this.trial = o.trial ?? false;
  }

  slots(): SlotInfo[] {
    return [0, 1].map((i) => ({ label: `ota_${i}`, version: this.versions[i], state: i === this.running ? "valid" : this.versions[i] ? "valid" : "empty", running: i === this.running }));
  }
  begin(): OtaSink {
    const chunks: Buffer[] = [];
    this.writing = chunks;
    this.versions[1 - this.running] = null;
    this.events.push("begin");
    return {
      write: (d) => {
        chunks.push(Buffer.from(d));
      },
      end: () => {
        this.written = Buffer.concat(chunks);
        this.writing = null;
        this.events.push(`end ${this.written.length}`);
      },
      abort: () => {
        this.writing = null;
        this.events.push("abort");
      },
    };
  }
  activate(): void {
    this.events.push("activate");
  }
  onTrial(): boolean {
    return this.trial;
  }
  markValid(): void {
    this.trial = false;
    this.events.push("markValid");
  }
  rollback(): void {
    this.events.push("rollback");
  }
  reboot(): void {
    this.events.push("reboot");
  }
}
