// Linux-only: the typing of the stand-in ota.js (the SDK ships no typing for its ESP32 ota module;
// mcconfig's tsc needs one for hosts/esp32/ota.ts). Same shape as hosts/esp32/types/moddable.d.ts.
export default class OTA {
  constructor();
  write(data: ArrayBuffer | ArrayBufferView): void;
  cancel(): void;
  complete(): void;
}
