// Moddable's ESP32 OTA module (build/devices/esp32/modules/ota/ota.js, SDK 8.2.3), which the SDK
// ships without typings: mcconfig's tsc stops at `import OTA from "ota"` (TS7016, implicitly any).
// A module file, not an ambient declaration: manifest_app.json lists it as module "ota", so
// mcconfig maps "ota" to this declaration in its tsconfig paths (a .d.ts wins over the .js);
// tsconfig.esp32.json maps it the same way for npm run check:esp32.

/** The constructor calls esp_ota_begin on the next update partition (erasing as it goes:
 * OTA_WITH_SEQUENTIAL_WRITES), write() appends, cancel() ends without switching, complete() runs
 * esp_ota_end and esp_ota_set_boot_partition. */
export default class OTA {
  constructor();
  write(data: ArrayBuffer | ArrayBufferView): void;
  cancel(): void;
  complete(): void;
}
