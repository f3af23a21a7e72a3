// Moddable's ESP32 `ota` module (build/devices/esp32/modules/ota/ota.c over ESP-IDF's app_update)
// and the rollback hooks of hosts/esp32/esp32_ota.c, over two app slots and otadata kept in the
// state directory (ota.json, ota_N.bin), with ESP-IDF's bootloader rollback played at each boot:
//
//   - a slot set to boot by complete() (esp_ota_set_boot_partition) is NEW; the next boot makes it
//     PENDING_VERIFY and runs it; a boot that finds the slot still PENDING_VERIFY (never marked
//     valid) marks it ABORTED and runs the other slot; INVALID (marked by the app) likewise;
//   - esp_ota_write refuses a first byte other than 0xE9 (ESP_ERR_OTA_VALIDATE_FAILED, "write
//     failed" in ota.c); esp_ota_end checks the image's appended SHA-256 ("end failed");
//   - esp_restart and esp_ota_mark_app_invalid_rollback_and_reboot end the process with status 0
//     after reporting {type: "restart"}: the test boots the board again on the same state.
// The image that runs is this same program: its "version" is what ota.json records for the slot
// (ESP32_SIM_APP_VERSION for the first boot, "0.1.0" by default); chip id: ESP32_SIM_CHIP_ID (0).

import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { report, settings } from "./board.js";

/** The ota_0/ota_1 size in hosts/esp32/partitions.csv. */
const SLOT_BYTES = 0x1B0000;
const LABELS = ["ota_0", "ota_1"] as const;

type State = "new" | "pending" | "valid" | "invalid" | "aborted" | "undefined";
interface Otadata {
  boot: number;
  states: State[];
  versions: (string | null)[];
}

const file = join(settings.stateDir, "ota.json");
const data: Otadata = existsSync(file)
  ? (JSON.parse(readFileSync(file, "utf8")) as Otadata)
  : { boot: 0, states: ["valid", "undefined"], versions: [process.env.ESP32_SIM_APP_VERSION ?? "0.1.0", null] };
const chipId = Number(process.env.ESP32_SIM_CHIP_ID ?? 0);

function save(): void {
  writeFileSync(file + ".tmp", JSON.stringify(data));
  renameSync(file + ".tmp", file);
}

// ---- the bootloader, once per boot ----
let running = data.boot;
if (data.states[running] === "new") data.states[running] = "pending";
else if (data.states[running] === "pending" || data.states[running] === "invalid" || data.states[running] === "aborted") {
  if (data.states[running] === "pending") data.states[running] = "aborted";
  running = 1 - running;
  data.boot = running;
}
save();

function restart(why: string): never {
  report({ type: "restart", why });
  process.stdout.write(`(sim) esp_restart: ${why}\n`);
  process.exit(0);
}

/** ota.c: one OTA object, begin at construction. */
export default class OTA {
  #next = 1 - running;
  #chunks: Buffer[] | null = [];
  #size = 0;

  constructor() {
    // esp_ota_begin erases the partition: the slot no longer holds an app.
    data.versions[this.#next] = null;
    data.states[this.#next] = "undefined";
    save();
  }

  write(buffer: ArrayBuffer | ArrayBufferView): void {
    if (!this.#chunks) throw new Error("write failed");
    const b = ArrayBuffer.isView(buffer) ? Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength) : Buffer.from(buffer);
    if (this.#size === 0 && b.length > 0 && b[0] !== 0xe9) throw new Error("write failed");
    if (this.#size + b.length > SLOT_BYTES) throw new Error("write failed");
    this.#chunks.push(Buffer.from(b));
    this.#size += b.length;
  }

  cancel(): void {
    this.#chunks = null;
  }

  complete(): void {
    if (!this.#chunks) throw new Error("bad state");
    const image = Buffer.concat(this.#chunks);
    this.#chunks = null;
    const body = image.subarray(0, image.length - 32);
    if (image.length < 64 || !createHash("sha256").update(body).digest().equals(image.subarray(image.length - 32))) throw new Error("end failed");
    writeFileSync(join(settings.stateDir, `${LABELS[this.#next]}.bin`), image);
    const version = image.subarray(48, 80);
    const end = version.indexOf(0);
    data.versions[this.#next] = version.subarray(0, end < 0 ? 32 : end).toString("latin1");
    data.states[this.#next] = "new";
    data.boot = this.#next;
    save();
  }
}

type HostFunction = (...args: unknown[]) => unknown;

/** esp32_ota.c's host functions. */
export const otaFunctions: Record<string, HostFunction> = {
  xs_esp32_ota_info() {
    const next = 1 - running;
    const info: Record<string, unknown> = {
      running: LABELS[running],
      runningVersion: data.versions[running] ?? "?",
      chipId,
      trial: data.states[running] === "pending",
      next: LABELS[next],
      nextSize: SLOT_BYTES,
    };
    if (data.versions[next] !== null && data.states[next] !== "undefined") info.nextVersion = data.versions[next];
    return info;
  },
  xs_esp32_ota_mark_valid() {
    data.states[running] = "valid";
    save();
  },
  xs_esp32_ota_rollback() {
    const other = 1 - running;
    if (data.states[other] !== "valid") throw new Error("ota: no image to roll back to");
    data.states[running] = "invalid";
    data.boot = other;
    save();
    restart("rollback");
  },
  xs_esp32_restart() {
    restart("restart");
  },
};
