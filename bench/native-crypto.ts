// What each native crypto primitive costs on the QEMU firmware (rv32imc, the ESP32-C3 stand-in):
// guest instructions under -icount shift=0 (exact), Mbed TLS's heap peak and the C stack's depth,
// through the hooks and the native provider as the SSH core calls them. Includes an RSA-3072 key
// generation (random: its cost varies from run to run), which the tests leave out.
//
//   node --import tsx bench/native-crypto.ts      -> a table, and bench/results/native-crypto.json
//
// The image is the one test/qemu-crypto-algs.test.ts boots (test/helpers/qemu-crypto.ts), with the
// key generation asked for. The kex rows add up the server's share of one key exchange: for
// mlkem768x25519-sha256 an ML-KEM-768 encapsulation plus an X25519 key pair and shared secret; for
// curve25519-sha256 the X25519 part alone; for ecdh-sha2-nistp256 a P-256 key pair and shared secret.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runAlgsImage } from "../test/helpers/qemu-crypto.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** RSA-3072 generation alone can take tens of billions of guest instructions. */
const RUN_TIMEOUT_MS = 900_000;

const r = await runAlgsImage({ keygen3072: true }, "bench-crypto-algs.elf", RUN_TIMEOUT_MS);
if (r.code !== 0 || !/^\d+ passed, 0 failed$/m.test(r.output)) {
  console.error(`the image failed (exit ${r.code}):\n${r.output}\n${r.stderr}`);
  process.exit(1);
}
const f = r.figures;
const I = (name: string): number => {
  const v = f[name]?.instructions;
  if (!(v > 0)) throw new Error(`no figure ${name}`);
  return v;
};
const derived = {
  "kex-server mlkem768x25519": I("mlkem768-encapsulate") + I("x25519-kex-server"),
  "kex-server curve25519": I("x25519-kex-server"),
  "kex-server ecdh-p256": I("ecdh-p256-kex-server"),
  "host-key signature ed25519": I("ed25519-sign"),
  "host-key signature ecdsa-p256": I("ecdsa-p256-sign"),
  "host-key signature rsa3072 (rsa-sha2-512)": I("rsa3072-sign-sha512"),
};
const M = (n: number) => `${(n / 1e6).toFixed(2).padStart(9)} M`;
console.log(`QEMU rv32imc, ${r.built.sizes.text} bytes of text; instructions (exact, -icount shift=0), Mbed TLS heap peak, C stack depth`);
for (const [name, v] of Object.entries(f)) {
  const extra = [v.psaHeap ? `psa heap ${v.psaHeap} B` : "", v.stack ? `C stack ${v.stack} B` : "", v.lentStack ? `lent stack ${v.lentStack} B` : ""].filter(Boolean).join(", ");
  console.log(`${name.padEnd(26)} ${M(v.instructions)}  ${extra}`);
}
for (const [name, v] of Object.entries(derived)) console.log(`${name.padEnd(42)} ${M(v)}`);
console.log(`mlkem768x25519 / curve25519 (server kex crypto): ${(derived["kex-server mlkem768x25519"] / derived["kex-server curve25519"]).toFixed(2)}x`);
const out = join(root, "bench/results/native-crypto.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), textBytes: r.built.sizes.text, figures: f, derived }, null, 2)}\n`);
console.log(`wrote ${out.slice(root.length + 1)}`);
