// The crypto self-test image of test/qemu-crypto*.test.ts: a script bundle on XS with the native
// crypto hooks and their libraries as the SSH image has them (hosts/qemu/build.ts
// nativeCryptoParts: libsodium, Mbed TLS 3.6, libcrux ML-KEM) and firmware/crypto_test_extras.c
// (globalThis.nativeCrypto and the measuring nativeProbe), without lwIP, the UART bridge or the
// flash store. Cached like any firmware build.

import { join } from "node:path";
import { FIRMWARE_WARNINGS, buildFirmware, firmwareDir, nativeCryptoParts, type BuildResult } from "../../hosts/qemu/build.js";

/** heapBytes: a C heap other than the board's 320 KiB (the vectors' strings alone need more). */
export async function buildCryptoTestImage(bundle: string, out: string, heapBytes?: number): Promise<BuildResult> {
  const crypto = await nativeCryptoParts();
  return buildFirmware({
    bundle,
    out,
    components: [
      ...crypto.components,
      { name: "crypto-test", sources: [...crypto.sources, join(firmwareDir, "crypto_test_extras.c")], includes: crypto.includes, cflags: [...FIRMWARE_WARNINGS, ...crypto.cflags] },
    ],
    heapBytes,
    log: () => {},
  });
}
