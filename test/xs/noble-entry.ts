// Runs under XS (xsrun), bundled by test/xs-noble.test.ts: the noble provider's optional primitives
// (the reference implementation; no node, no crypto.getRandomValues: randomness from the host's hook)
// against the published vectors, one or a few per primitive. Prints "ok NAME" / "not ok NAME: why" and
// a last line "N passed, M failed".

import { createNobleProvider } from "../../modules/crypto/noble.js";
import { nativeHooks, print } from "../../hosts/qemu/xs/host.js";
import { h, hex } from "../vectors.js";
import { AES_CTR_VECTORS, AES_GCM_SSH_VECTORS, ECDH_VECTORS, ECDSA_VECTORS, EC_KEY_VECTORS, HMAC_VECTORS, MLKEM768_ENCAPS_VECTORS, SHA384_VECTORS } from "../vectors-algs.js";

const hooks = nativeHooks();
const p = createNobleProvider((out) => hooks.random(out));
let passed = 0;
let failed = 0;
function check(name: string, fn: () => void): void {
  const t = Date.now();
  try {
    fn();
    passed++;
    print(`ok ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    failed++;
    print(`not ok ${name}: ${(e as Error).message}`);
  }
}
function eq(got: string, want: string, what: string): void {
  if (got !== want) throw new Error(`${what}: got ${got.slice(0, 40)}, want ${want.slice(0, 40)}`);
}

check("sha384", () => {
  for (const v of SHA384_VECTORS) eq(hex(p.sha384!(h(v.msg))), v.digest, v.name);
});
check("hmac", () => {
  for (const v of HMAC_VECTORS) {
    const k = p.createHmac!(v.hash, h(v.key));
    const data = h(v.data);
    const out = new Uint8Array(k.size);
    k.mac(v.seq, data, 0, data.length, out, 0);
    const n = v.truncate ?? k.size;
    eq(hex(out.subarray(0, n)), v.mac.slice(0, 2 * n), v.name);
  }
});
check("aes-ctr", () => {
  for (const v of AES_CTR_VECTORS) {
    const b = h(v.plain);
    const s = p.createAesCtr!(h(v.key), h(v.iv));
    s.process(b, 0, 5);
    s.process(b, 5, b.length - 5);
    eq(hex(b), v.cipher, v.name);
  }
});
check("aes-gcm (SSH layout)", () => {
  for (const v of AES_GCM_SSH_VECTORS) {
    const plain = h(v.plain);
    const buf = new Uint8Array(4 + plain.length + 16);
    buf.set(h(v.packetLength), 0);
    buf.set(plain, 4);
    const k = p.createAesGcm!(h(v.key));
    k.seal(h(v.iv), buf, 0, plain.length);
    eq(hex(buf.subarray(4 + plain.length)), v.tag, v.name);
    if (!k.open(h(v.iv), buf, 0, plain.length)) throw new Error(`${v.name}: open failed`);
    eq(hex(buf.subarray(4, 4 + plain.length)), v.plain, v.name);
  }
});
check("ec public keys p256/p384/p521", () => {
  for (const v of EC_KEY_VECTORS) eq(hex(p.ecPublic!(v.curve, h(v.private))), v.public, v.name);
});
check("ecdh p256 (valid and invalid points)", () => {
  for (const v of ECDH_VECTORS.filter((x) => x.curve === "p256").slice(0, 6)) {
    if (v.valid) eq(hex(p.ecdh!(v.curve, h(v.private), h(v.public))), v.shared, v.name);
    else {
      let threw = false;
      try {
        p.ecdh!(v.curve, h(v.private), h(v.public));
      } catch {
        threw = true;
      }
      if (!threw) throw new Error(`${v.name}: accepted`);
    }
  }
});
check("ecdsa p256 verify, and a fresh signature", () => {
  for (const v of ECDSA_VECTORS.filter((x) => x.curve === "p256").slice(0, 6)) {
    if (p.ecdsaVerify!(v.curve, h(v.public), h(v.msg), h(v.sig)) !== v.valid) throw new Error(v.name);
  }
  const k = p.ecGenerate!("p256");
  const m = new Uint8Array(40);
  if (!p.ecdsaVerify!("p256", k.publicKey, m, p.ecdsaSign!("p256", k.privateKey, m))) throw new Error("own signature");
});
check("ml-kem-768 encapsulation", () => {
  for (const v of MLKEM768_ENCAPS_VECTORS) {
    if (!v.valid) continue;
    const r = p.mlkem768Encapsulate!(h(v.ek), h(v.m));
    eq(hex(r.sharedSecret), v.K, v.name);
    eq(hex(r.ciphertext), v.c, v.name);
  }
  const r = p.mlkem768Encapsulate!(h(MLKEM768_ENCAPS_VECTORS[0].ek));
  if (r.ciphertext.length !== 1088) throw new Error("random encapsulation");
});
print(`${passed} passed, ${failed} failed`);
