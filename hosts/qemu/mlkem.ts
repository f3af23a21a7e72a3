// libcrux's portable ML-KEM-768 (the C header OpenSSH >= 9.9 itself uses, libcrux_mlkem768_sha3.h)
// for modules/crypto/native_mlkem.c: taken at build time from Debian 13's openssh source package
// (OpenSSH 10.0p1) into build/mlkem/, alone in that directory so that no other OpenSSH header is on
// the include path. Never committed. Debian has no other ML-KEM library (no liboqs in 12, 13 or sid).
//
//   node --import tsx hosts/qemu/mlkem.ts   -> prints the directory (the ESP32 build's fetch step)

import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDir, debianSource } from "./sources.js";

export const MLKEM_HEADER = "libcrux_mlkem768_sha3.h";
/** Where the header is put: the include directory of native_mlkem.c (also hosts/esp32/manifest_app.json's). */
export const mlkemDir = join(buildDir, "mlkem");

/** The directory holding libcrux_mlkem768_sha3.h, fetched and copied when missing or changed. */
export async function mlkemInclude(): Promise<string> {
  const openssh = await debianSource("openssh", "trixie");
  const source = join(openssh, MLKEM_HEADER);
  if (!existsSync(source)) throw new Error(`${openssh} has no ${MLKEM_HEADER} (OpenSSH before 9.9?)`);
  const text = readFileSync(source);
  if (!text.includes("libcrux_ml_kem_mlkem768_portable_encapsulate")) throw new Error(`${source}: no portable ML-KEM-768 encapsulation`);
  const target = join(mlkemDir, MLKEM_HEADER);
  mkdirSync(mlkemDir, { recursive: true });
  if (!existsSync(target) || !readFileSync(target).equals(text)) copyFileSync(source, target);
  return mlkemDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mlkemInclude().then(
    (dir) => console.log(dir),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
