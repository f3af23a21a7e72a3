// Builds the packet crypto addon (packet_crypto.c) for the node running this script: one C file,
// compiled by the system C compiler against node's own headers (node-API and the OpenSSL 3 headers
// node ships in include/node/openssl), linked against nothing: node exports the symbols.
//
//   node --import tsx hosts/node/native/build.ts [--optional]
//
// The output goes to build/native/packet_crypto-<hash>.node (build/ is not committed), the hash
// covering the source, the flags, node's version and its OpenSSL version, so a stale build is never
// loaded. hosts/node/crypto_native.ts calls buildPacketCrypto() on first use when the file is
// missing, so `npm start` and `npm test` work without a separate step; `npm install` runs this
// script too (package.json "install", with --optional: a machine without a C compiler still
// installs and the server falls back to node:crypto + libsodium).

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
export const PACKET_CRYPTO_SOURCE = join(here, "packet_crypto.c");
const OUT_DIR = join(root, "build", "native");
/** A compile of the one file takes about a second; this bounds a hung compiler. */
const COMPILE_TIMEOUT_MS = 120_000;

const FLAGS = ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-fvisibility=hidden"];

/** Directories that may hold node's headers (node_api.h; openssl/evp.h beside it when node carries
 * its own OpenSSL, as the official and NodeSource builds do). */
function headerCandidates(): string[] {
  const out: string[] = [];
  const nodedir = process.env.npm_config_nodedir;
  if (nodedir) out.push(join(nodedir, "include", "node"));
  out.push(join(dirname(dirname(process.execPath)), "include", "node"));
  const cache = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? "/root", ".cache");
  out.push(join(cache, "node-gyp", process.versions.node, "include", "node"));
  out.push("/usr/include/node", "/usr/local/include/node");
  return out;
}

/** Where the system's OpenSSL headers are, for a node linked against the system's libcrypto (a
 * distribution's nodejs built with --shared-openssl, e.g. Debian's with libnode-dev + libssl-dev). */
const SYSTEM_INCLUDE = "/usr/include";

/** The -I directories: node's (node_api.h), and node's own OpenSSL headers or else the system's
 * when node uses the system's OpenSSL 3. Throws an Error naming where it looked. */
export function nodeHeaders(): string[] {
  const tried = headerCandidates();
  const dirs = tried.filter((d) => existsSync(join(d, "node_api.h")));
  const own = dirs.find((d) => existsSync(join(d, "openssl", "evp.h")));
  if (own) return [own];
  if (dirs.length === 0) throw new Error(`node's headers (node_api.h) not found in ${tried.join(", ")}`);
  const major = Number(process.versions.openssl.split(".")[0]);
  if (major >= 3 && existsSync(join(SYSTEM_INCLUDE, "openssl", "evp.h"))) return [dirs[0]];
  throw new Error(`no OpenSSL ${process.versions.openssl} headers: neither ${join(dirs[0], "openssl")} nor ${join(SYSTEM_INCLUDE, "openssl")} (libssl-dev)`);
}

function compiler(): string {
  return process.env.CC || "cc";
}

function platformFlags(): string[] {
  // macOS links a shared object with undefined symbols only when told to look them up at load.
  return process.platform === "darwin" ? ["-undefined", "dynamic_lookup"] : [];
}

/** Where the addon for this source, node and compiler flags lives (whether built or not). */
export function packetCryptoPath(): string {
  const h = createHash("sha256")
    .update(readFileSync(PACKET_CRYPTO_SOURCE))
    .update([compiler(), ...FLAGS, ...platformFlags(), process.version, process.versions.openssl, process.platform, process.arch].join("\0"))
    .digest("hex")
    .slice(0, 16);
  return join(OUT_DIR, `packet_crypto-${h}.node`);
}

/** Builds the addon unless it is there already; returns its path. Throws an Error with the
 * compiler's output when it cannot. Safe against concurrent builds (temporary file + rename). */
export function buildPacketCrypto(): { path: string; built: boolean } {
  const path = packetCryptoPath();
  if (existsSync(path)) return { path, built: false };
  const include = nodeHeaders();
  mkdirSync(OUT_DIR, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const args = [...FLAGS, ...platformFlags(), ...include.map((d) => `-I${d}`), "-o", tmp, PACKET_CRYPTO_SOURCE];
  try {
    execFileSync(compiler(), args, { stdio: ["ignore", "pipe", "pipe"], timeout: COMPILE_TIMEOUT_MS });
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer; status?: number | null };
    const why = err.code === "ENOENT"
      ? `no C compiler (${compiler()}) found`
      : `${compiler()} failed (exit ${err.status ?? err.code ?? "?"}): ${String(err.stderr ?? err.message).trim()}`;
    throw new Error(`cannot build the packet crypto addon: ${why}`);
  }
  renameSync(tmp, path);
  // Builds of earlier sources are never loaded again (the name carries the source's hash).
  for (const f of readdirSync(OUT_DIR)) {
    if (/^packet_crypto-[0-9a-f]+\.node$/.test(f) && f !== basename(path)) rmSync(join(OUT_DIR, f), { force: true });
  }
  return { path, built: true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const optional = process.argv.includes("--optional");
  try {
    const r = buildPacketCrypto();
    console.log(`${r.built ? "built" : "up to date:"} ${relative(process.cwd(), r.path)}`);
  } catch (e) {
    console.error(`${(e as Error).message}${optional ? " (the node host falls back to node:crypto + libsodium)" : ""}`);
    process.exit(optional ? 0 : 1);
  }
}
