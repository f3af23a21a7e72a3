// Firmware updates on the ESP32: the OtaHost of modules/files/ota.ts over Moddable's OTA module
// (`ota`: esp_ota_begin on the next update partition, esp_ota_write, and in complete() esp_ota_end
// + esp_ota_set_boot_partition) and the rollback hooks of esp32_ota.c (ESP-IDF's app rollback).
//
// The core checks the image as it streams (ESP app image of this chip, appended SHA-256); the OTA
// object stays open after the upload and complete() runs only at `ota commit`, because complete()
// also switches the boot partition. ESP-IDF's bootloader then boots the new app once as
// PENDING_VERIFY; the core marks it valid after a login (esp_ota_mark_app_valid_cancel_rollback) or
// rolls it back when its trial ends (esp_ota_mark_app_invalid_rollback_and_reboot); a crash or
// reset during the trial rolls back in the bootloader.

import OTA from "ota";
import { ESP_CHIP_IDS, espImageFormat, type ImageFormat, type OtaHost, type OtaSink, type SlotInfo } from "../../modules/files/ota.js";
import { StoreError } from "../../modules/files/store.js";

interface OtaInfo {
  running?: string;
  runningVersion: string;
  chipId?: number;
  trial: boolean;
  next?: string;
  nextSize?: number;
  nextVersion?: string;
}

export class Esp32OtaHost implements OtaHost {
  readonly format: ImageFormat;
  readonly slotSize: number;
  readonly runningVersion: string;
  private readonly atBoot: OtaInfo;
  /** The OTA object of an upload written and checked, waiting for `ota commit`. */
  private pending: OTA | null = null;
  private writing = false;
  private readonly otaInfo: () => OtaInfo = native("xs_esp32_ota_info");
  private readonly otaMarkValid: () => void = native("xs_esp32_ota_mark_valid");
  private readonly otaRollback: () => void = native("xs_esp32_ota_rollback");
  private readonly restart: () => void = native("xs_esp32_restart");

  constructor() {
    this.atBoot = this.otaInfo();
    // The chip this board is: the one the running image was built for.
    let chip = "esp32";
    for (const k in ESP_CHIP_IDS) if (ESP_CHIP_IDS[k] === this.atBoot.chipId) chip = k;
    this.format = espImageFormat(chip);
    this.runningVersion = this.atBoot.runningVersion;
    this.slotSize = this.atBoot.nextSize ?? 0;
  }

  slots(): SlotInfo[] {
    const i = this.otaInfo();
    const out: SlotInfo[] = [{ label: i.running ?? "?", version: i.runningVersion, state: i.trial ? "on trial" : "valid", running: true }];
    if (i.next) out.push({ label: i.next, version: i.nextVersion ?? null, state: this.writing ? "being written" : this.pending ? "written, not committed" : i.nextVersion ? "the one before, or not booted" : "empty", running: false });
    return out;
  }

  begin(): OtaSink {
    if (this.slotSize === 0) throw new StoreError("EINVAL", "this partition table has no OTA slot (see hosts/esp32/partitions.csv)");
    this.drop();
    let ota: OTA | null = new OTA();
    this.writing = true;
    return {
      write: (data) => {
        try {
          ota!.write(data);
        } catch (e) {
          throw new StoreError("EIO", `flash write failed (${(e as Error).message})`);
        }
      },
      end: () => {
        this.writing = false;
        this.pending = ota;
        ota = null;
      },
      abort: () => {
        this.writing = false;
        try {
          ota?.cancel();
        } catch {
          // the handle is gone already
        }
        ota = null;
      },
    };
  }

  private drop(): void {
    const p = this.pending;
    this.pending = null;
    try {
      p?.cancel();
    } catch {
      // nothing open
    }
  }

  activate(): void {
    const p = this.pending;
    if (!p) throw new StoreError("EINVAL", "no checked image waiting");
    this.pending = null;
    try {
      p.complete();
    } catch (e) {
      throw new StoreError("EINVAL", `ESP-IDF refused the image (${(e as Error).message}): the running firmware stays`);
    }
  }

  onTrial(): boolean {
    return this.atBoot.trial;
  }

  markValid(): void {
    this.otaMarkValid();
  }

  rollback(): void {
    this.otaRollback();
  }

  reboot(): void {
    this.restart();
  }
}
