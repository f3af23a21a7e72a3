// ESP32 entry (manifest.json maps this file as the "main" module; Moddable SDK 8.2.3 calls its
// default export once setup/network has joined Wi-Fi).
//
// Imports here are bare module names, not relative paths: XS resolves a relative specifier against
// the importing module's name, and this module is named "main", not "hosts/esp32/main". The other
// host modules are named after their paths in the manifest, so their relative imports resolve.
// tsconfig.esp32.json maps the same names for the checks run off the board.

import { startEsp32 } from "hosts/esp32/host";

export default function main(): void {
  startEsp32();
}
