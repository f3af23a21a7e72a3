// Mbed TLS 3.6's crypto library (libmbedcrypto) for the PSA hooks (modules/crypto/native_psa.c):
// Debian 13's source package (bookworm has only 2.28, without the PSA Crypto API), fetched into
// build/ by hosts/qemu/sources.ts and never committed, compiled with this project's configuration
// (hosts/qemu/mbedtls-config/: PSA_WANT_* for SHA-2, HMAC, AES-GCM/CTR, ECDH/ECDSA P-256/384/521,
// RSA PKCS#1 v1.5; no TLS, no X.509, no file system, no threads, the platform's random source).
//
// The same sources and configuration serve the Linux xsrun (host cc, hosts/qemu/xs-host/build.ts)
// and the QEMU firmware (a firmware Component, rv32imc -Os); `npm run check:esp32` compiles the
// hooks against these headers as the stand-in for ESP-IDF v6.0's (the PSA API is the same).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Component } from "./build.js";
import { debianSource } from "./sources.js";

/** This project's MBEDTLS_CONFIG_FILE and MBEDTLS_PSA_CRYPTO_CONFIG_FILE. */
export const mbedtlsConfigDir = join(dirname(fileURLToPath(import.meta.url)), "mbedtls-config");
/** How every file that includes Mbed TLS's headers selects the configuration. */
export const MBEDTLS_DEFINES = ['-DMBEDTLS_CONFIG_FILE="native_mbedtls_config.h"'];
/** The release line the hooks are written for (its PSA API is ESP-IDF v6.0's TF-PSA-Crypto's). */
const WANT_VERSION = /^3\.6\./;

export interface MbedTls {
  /** The unpacked source tree. */
  root: string;
  version: string;
  /** Include directories for code that uses the PSA API (configuration first). */
  includes: string[];
  /** The crypto library's C files (library/CMakeLists.txt src_crypto). */
  sources: string[];
}

/** Fetches (once) Mbed TLS 3.6's source and lists what the crypto library compiles. */
export async function mbedtls(): Promise<MbedTls> {
  const root = await debianSource("mbedtls", "trixie");
  const versionH = readFileSync(join(root, "include", "mbedtls", "build_info.h"), "utf8");
  const version = /#define MBEDTLS_VERSION_STRING\s+"([^"]+)"/.exec(versionH)?.[1] ?? "?";
  if (!WANT_VERSION.test(version)) throw new Error(`Mbed TLS ${version} at ${root}: the PSA hooks need 3.6.x`);
  const cmake = readFileSync(join(root, "library", "CMakeLists.txt"), "utf8");
  const list = /set\(src_crypto\s+([^)]*)\)/.exec(cmake)?.[1];
  if (!list) throw new Error(`${root}/library/CMakeLists.txt: no src_crypto list`);
  const sources = list.split(/\s+/).filter((f) => f.endsWith(".c")).map((f) => join(root, "library", f));
  if (sources.length < 50) throw new Error(`${root}: only ${sources.length} crypto sources listed`);
  return { root, version, includes: [mbedtlsConfigDir, join(root, "include")], sources };
}

/** The crypto library as a firmware Component (its own warnings are Mbed TLS's business: -w). */
export async function mbedtlsComponent(): Promise<{ component: Component; includes: string[]; version: string }> {
  const m = await mbedtls();
  return {
    includes: m.includes,
    version: m.version,
    component: { name: "mbedtls", sources: m.sources, includes: [...m.includes, join(m.root, "library")], cflags: [...MBEDTLS_DEFINES, "-w"] },
  };
}
