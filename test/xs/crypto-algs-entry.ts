// Runs under XS (xsrun and the QEMU crypto image), bundled by test/xs-crypto-algs.test.ts and
// test/qemu-crypto-algs.test.ts: the published vectors of test/vectors-algs.ts through the native
// provider's optional primitives (native_psa.c over the PSA Crypto API, native_mlkem.c over
// libcrux), the published AES-GCM vectors through the hooks themselves (any additional data), bad
// input, then cost figures per primitive. Prints "ok NAME" / "not ok NAME: why" per check,
// "figure NAME key=value ..." lines, and a last line "N passed, M failed".
//
// Figures (see figure()): on the QEMU image (globalThis.nativeProbe) guest instructions (exact under
// -icount shift=0), Mbed TLS's heap peak above what it held before (bytes), the C stack's depth and
// the lent stack's use (ML-KEM); under xsrun milliseconds. globalThis.XS_ALGS (a script evaluated first)
// asks for the slow parts: { generate: RSA-2048 key generation checks, keygen3072: an RSA-3072 key
// generation figure }.

import { createNativeProvider, type NativePsaHooks } from "../../modules/crypto/native.js";
import type { CryptoFeature, CryptoProvider, EcCurve, RsaPrivateKey } from "../../modules/crypto/provider.js";
import { nativeHooks, print, xsrun } from "../../hosts/qemu/xs/host.js";
import {
  AES_CTR_VECTORS, AES_GCM_SSH_VECTORS, AES_GCM_VECTORS, EC_CURVE_ORDERS, EC_KEY_VECTORS, ECDH_VECTORS, ECDSA_VECTORS, HMAC_VECTORS,
  MLKEM768_ENCAPS_VECTORS, RSA_SIGN_VECTORS, RSA_VERIFY_VECTORS, SHA384_VECTORS,
} from "../vectors-algs.js";
import { ascii, h, hex } from "../vectors.js";
import { atOffset, check, eq, summary, throws } from "./harness.js";

interface Probe {
  instructions(): number;
  paintStack(): void;
  stackPeak(): number;
  measureLentStack(on: boolean): void;
  lentStackPeak(): number;
  heapPeak(): number;
}
interface Options {
  generate?: boolean;
  keygen3072?: boolean;
}
const globals = globalThis as unknown as { nativeProbe?: Probe; XS_ALGS?: Options };
const probe = globals.nativeProbe;
const options: Options = globals.XS_ALGS ?? {};
const hooks = nativeHooks() as ReturnType<typeof nativeHooks> & NativePsaHooks;
const p: CryptoProvider = createNativeProvider(hooks);

/** The provider's optional methods, asserted present (the features check fails first if not). */
function need<K extends keyof CryptoProvider>(name: K): NonNullable<CryptoProvider[K]> {
  const f = p[name];
  if (typeof f !== "function") throw new Error(`the native provider has no ${String(name)}`);
  return (f as (...a: unknown[]) => unknown).bind(p) as NonNullable<CryptoProvider[K]>;
}
const rsaKey = (v: { n: string; e: string; d: string; p: string; q: string; dp: string; dq: string; qi: string }): RsaPrivateKey => ({
  n: long(v.n), e: h(v.e), d: long(v.d), p: long(v.p), q: long(v.q), dp: long(v.dp), dq: long(v.dq), qi: long(v.qi),
});
/** Bytes of a long hex string in 64-character pieces (XS slices long strings slowly, see vectors.ts h()). */
function long(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < s.length; i += 64) out.set(h(s.slice(i, i + 64)), i >> 1);
  return out;
}
function random(n: number): Uint8Array {
  const b = new Uint8Array(n);
  p.randomBytes(b);
  return b;
}

// ---- Features
const EXPECTED: readonly CryptoFeature[] = [
  "sha384", "hmac-sha256", "hmac-sha512", "aes-gcm", "aes-ctr", "ecdh-p256", "ecdh-p384", "ecdh-p521", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521",
  "rsa", "rsa-generate", "mlkem768",
];
check("features: every optional primitive of the build", () => {
  eq(p.features.join(","), EXPECTED.join(","), "features");
  for (const name of ["sha384", "createHmac", "createAesGcm", "createAesCtr", "ecGenerate", "ecPublic", "ecdh", "ecdsaSign", "ecdsaVerify", "rsaSign", "rsaVerify", "rsaGenerate", "mlkem768Encapsulate"] as const) {
    eq(typeof p[name], "function", name);
  }
});

// ---- SHA-384
check("sha384 FIPS 180-4", () => {
  const sha384 = need("sha384");
  for (const v of SHA384_VECTORS) {
    eq(hex(sha384(h(v.msg))), v.digest, v.name);
    eq(hex(sha384(atOffset(h(v.msg), 5))), v.digest, `${v.name} at an offset`);
  }
});

// ---- HMAC
check(`hmac-sha2-256/512 RFC 4231 (${HMAC_VECTORS.length} cases, seq || data)`, () => {
  const createHmac = need("createHmac");
  for (const v of HMAC_VECTORS) {
    const key = createHmac(v.hash, h(v.key));
    eq(key.size, v.hash === "sha256" ? 32 : 64, "size");
    const data = h(v.data);
    const buf = new Uint8Array(data.length + 11).fill(0x5a);
    buf.set(data, 7);
    const out = new Uint8Array(key.size + 9).fill(0xa5);
    key.mac(v.seq, buf, 7, data.length, out, 3);
    const want = v.mac;
    eq(hex(out.subarray(3, 3 + want.length / 2)), want, v.name);
    eq(out[2] === 0xa5 && out[3 + key.size] === 0xa5, true, `${v.name}: bytes around the MAC untouched`);
    key.mac(v.seq, buf, 7, data.length, out, 3); // the key's pads are not used up
    eq(hex(out.subarray(3, 3 + want.length / 2)), want, `${v.name} again`);
    key.dispose();
    throws(() => key.mac(v.seq, buf, 7, data.length, out, 3), /disposed/, "after dispose");
  }
  const key = createHmac("sha256", h(HMAC_VECTORS[0].key));
  throws(() => key.mac(0, new Uint8Array(4), 2, 3, new Uint8Array(32), 0), /do not fit/, "data beyond the buffer");
  throws(() => key.mac(0, new Uint8Array(4), 0, 4, new Uint8Array(40), 9), /do not fit/, "MAC beyond the output");
  throws(() => key.mac(-1, new Uint8Array(4), 0, 4, new Uint8Array(32), 0), /sequence number/, "negative sequence number");
  throws(() => key.mac(2 ** 32, new Uint8Array(4), 0, 4, new Uint8Array(32), 0), /sequence number/, "sequence number 2^32");
  key.dispose();
});

// ---- AES-CTR
check("aes-ctr SP 800-38A F.5.1/F.5.3/F.5.5, whole and in pieces", () => {
  const createAesCtr = need("createAesCtr");
  for (const v of AES_CTR_VECTORS) {
    const whole = h(v.plain);
    const stream = createAesCtr(h(v.key), h(v.iv));
    stream.process(whole, 0, whole.length);
    eq(hex(whole), v.cipher, v.name);
    stream.dispose();
    // The same stream in pieces that start and end inside blocks, in place at an offset.
    for (const cuts of [[1, 15, 17, 31], [16, 16, 1, 30, 1], [5, 59]]) {
      const buf = new Uint8Array(64 + 10).fill(0xa5);
      buf.set(h(v.plain), 3);
      const s = createAesCtr(h(v.key), h(v.iv));
      let at = 3;
      for (const n of cuts) {
        s.process(buf, at, n);
        at += n;
      }
      s.process(buf, at, 67 - at);
      s.dispose();
      eq(hex(buf.subarray(3, 67)), v.cipher, `${v.name} in pieces ${cuts.join("+")}`);
      eq(buf[2] === 0xa5 && buf[67] === 0xa5, true, "bytes around untouched");
    }
  }
  throws(() => createAesCtr(new Uint8Array(20), new Uint8Array(16)), /16, 24 or 32/, "key length");
  throws(() => createAesCtr(new Uint8Array(16), new Uint8Array(12)), /iv/, "iv length");
  const s = createAesCtr(new Uint8Array(16), new Uint8Array(16));
  throws(() => s.process(new Uint8Array(8), 4, 5), /do not fit/, "beyond the buffer");
  s.dispose();
  throws(() => s.process(new Uint8Array(8), 0, 8), /disposed/, "after dispose");
});

// ---- AES-GCM
check(`aes-gcm Wycheproof (${AES_GCM_VECTORS.length} vectors, any additional data) through the hooks`, () => {
  for (const v of AES_GCM_VECTORS) {
    const aad = h(v.aad), plain = h(v.plain), cipher = h(v.cipher), tag = h(v.tag);
    const key = hooks.gcmKey(h(v.key));
    const buf = new Uint8Array(2 + aad.length + plain.length + 16 + 3);
    if (v.valid) {
      buf.set(aad, 2);
      buf.set(plain, 2 + aad.length);
      hooks.gcmSeal(key, h(v.iv), buf, 2, aad.length, plain.length);
      eq(hex(buf.subarray(2 + aad.length, 2 + aad.length + plain.length)), v.cipher, `${v.name} cipher text`);
      eq(hex(buf.subarray(2 + aad.length + plain.length, 2 + aad.length + plain.length + 16)), v.tag, `${v.name} tag`);
    }
    buf.set(aad, 2);
    buf.set(cipher, 2 + aad.length);
    buf.set(tag, 2 + aad.length + cipher.length);
    const before = hex(buf);
    eq(hooks.gcmOpen(key, h(v.iv), buf, 2, aad.length, cipher.length), v.valid, `${v.name} open`);
    if (v.valid) eq(hex(buf.subarray(2 + aad.length, 2 + aad.length + plain.length)), v.plain, `${v.name} plain text`);
    else eq(hex(buf), before, `${v.name}: refused packet unchanged`);
    hooks.gcmDispose(key);
  }
});
check(`aes-gcm SSH packet layout (${AES_GCM_SSH_VECTORS.length} vectors) seal/open, flipped bits refused`, () => {
  const createAesGcm = need("createAesGcm");
  for (const v of AES_GCM_SSH_VECTORS) {
    const plain = h(v.plain), len = plain.length, off = 5;
    const key = createAesGcm(h(v.key));
    const packet = new Uint8Array(off + 4 + len + 16 + 2);
    packet.set(h(v.packetLength), off);
    packet.set(plain, off + 4);
    key.seal(h(v.iv), packet, off, len);
    eq(hex(packet.subarray(off, off + 4)), v.packetLength, `${v.name}: length in clear`);
    eq(hex(packet.subarray(off + 4, off + 4 + len)), v.cipher, `${v.name} cipher text`);
    eq(hex(packet.subarray(off + 4 + len, off + 4 + len + 16)), v.tag, `${v.name} tag`);
    const sealed = hex(packet);
    for (const at of [off + 4 + len + 15, off + 4 + len, off + 4, off + 1]) {
      packet[at] ^= 0x01;
      const flipped = hex(packet);
      eq(key.open(h(v.iv), packet, off, len), false, `${v.name}: bit flipped at ${at - off}`);
      eq(hex(packet), flipped, `${v.name}: refused packet unchanged`);
      packet[at] ^= 0x01;
    }
    eq(hex(packet), sealed, "restored");
    eq(key.open(h(v.iv), packet, off, len), true, `${v.name} open`);
    eq(hex(packet.subarray(off + 4, off + 4 + len)), v.plain, `${v.name} plain text`);
    key.dispose();
    throws(() => key.seal(h(v.iv), packet, off, len), /disposed/, "after dispose");
  }
  throws(() => createAesGcm(new Uint8Array(24)), /16 or 32/, "AES-192 is not a GCM key here");
  const key = createAesGcm(new Uint8Array(16));
  throws(() => key.seal(new Uint8Array(12), new Uint8Array(36), 0, 32), /do not fit/, "no room for the tag");
  throws(() => key.seal(new Uint8Array(8), new Uint8Array(52), 0, 32), /iv/, "iv length");
  key.dispose();
});

// ---- EC keys, ECDH, ECDSA
const CURVES: readonly EcCurve[] = ["p256", "p384", "p521"];
check("ec key pairs RFC 6979 A.2.5-A.2.7; generated pairs; scalars 0 and n refused", () => {
  const ecPublic = need("ecPublic"), ecGenerate = need("ecGenerate");
  for (const v of EC_KEY_VECTORS) eq(hex(ecPublic(v.curve, h(v.private))), v.public, v.name);
  for (const curve of CURVES) {
    const pair = ecGenerate(curve);
    const n = curve === "p256" ? 32 : curve === "p384" ? 48 : 66;
    eq(pair.privateKey.length, n, `${curve} private length`);
    eq(pair.publicKey.length, 2 * n + 1, `${curve} public length`);
    eq(hex(ecPublic(curve, pair.privateKey)), hex(pair.publicKey), `${curve} generated pair`);
    throws(() => ecPublic(curve, new Uint8Array(n)), /invalid private key/, `${curve} zero`);
    throws(() => ecPublic(curve, new Uint8Array(n - 1).fill(1)), /invalid private key/, `${curve} short`);
  }
  for (const o of EC_CURVE_ORDERS) throws(() => ecPublic(o.curve, h(o.n)), /invalid private key/, `${o.curve} scalar n`);
});
check(`ecdh Wycheproof (${ECDH_VECTORS.length} vectors: valid, off the curve, compressed, empty)`, () => {
  const ecdh = need("ecdh"), ecGenerate = need("ecGenerate");
  for (const v of ECDH_VECTORS) {
    if (v.valid) eq(hex(ecdh(v.curve, h(v.private), h(v.public))), v.shared, v.name);
    else throws(() => ecdh(v.curve, h(v.private), h(v.public)), /^ecdh: invalid public key$/, v.name);
  }
  for (const curve of CURVES) {
    const a = ecGenerate(curve), b = ecGenerate(curve);
    eq(hex(ecdh(curve, a.privateKey, b.publicKey)), hex(ecdh(curve, b.privateKey, a.publicKey)), `${curve} both sides agree`);
    const other = curve === "p256" ? "p384" : "p256";
    throws(() => ecdh(curve, a.privateKey, ecGenerate(other).publicKey), /^ecdh: invalid public key$/, `${curve}: a point of ${other}`);
    throws(() => ecdh(curve, a.privateKey.subarray(1), b.publicKey), /private key/, `${curve}: short private key`);
  }
});
check(`ecdsa RFC 6979 and Wycheproof (${ECDSA_VECTORS.length} vectors, incl. a key off the curve); sign/verify`, () => {
  const ecdsaVerify = need("ecdsaVerify"), ecdsaSign = need("ecdsaSign");
  for (const v of ECDSA_VECTORS) eq(ecdsaVerify(v.curve, h(v.public), h(v.msg), h(v.sig)), v.valid, v.name);
  for (const v of EC_KEY_VECTORS) {
    const msg = ascii("sample");
    const sig = ecdsaSign(v.curve, h(v.private), msg);
    eq(ecdsaVerify(v.curve, h(v.public), msg, sig), true, `${v.curve} own signature`);
    eq(ecdsaVerify(v.curve, h(v.public), ascii("samplf"), sig), false, `${v.curve} other message`);
    eq(ecdsaVerify(v.curve, h(v.public), msg, sig.subarray(1)), false, `${v.curve} short signature`);
    eq(ecdsaVerify(v.curve, h(v.public).subarray(1), msg, sig), false, `${v.curve} key without its 04`);
    eq(ecdsaVerify(v.curve, new Uint8Array(0), msg, sig), false, `${v.curve} empty key`);
  }
});

// ---- RSA
check(`rsa PKCS#1 v1.5 Wycheproof sign (${RSA_SIGN_VECTORS.length} exact signatures) and verify (${RSA_VERIFY_VECTORS.length} vectors)`, () => {
  const rsaSign = need("rsaSign"), rsaVerify = need("rsaVerify");
  for (const v of RSA_SIGN_VECTORS) {
    const key = rsaKey(v);
    eq(hex(rsaSign(v.hash, key, h(v.msg))), v.sig, `${v.name} sign`);
    eq(rsaVerify(v.hash, key, h(v.msg), long(v.sig)), true, `${v.name} verify`);
    eq(rsaVerify(v.hash === "sha256" ? "sha512" : "sha256", key, h(v.msg), long(v.sig)), false, `${v.name} verify with the other hash`);
  }
  for (const v of RSA_VERIFY_VECTORS) eq(rsaVerify(v.hash, { n: long(v.n), e: h(v.e) }, h(v.msg), long(v.sig)), v.valid, v.name);
});
check("rsa bad input: a 64 KiB modulus, a signature of the wrong length, a broken private key", () => {
  const rsaSign = need("rsaSign"), rsaVerify = need("rsaVerify");
  const huge = new Uint8Array(65536).fill(0xff);
  eq(rsaVerify("sha256", { n: huge, e: h("010001") }, ascii("x"), huge), false, "64 KiB modulus");
  const v = RSA_VERIFY_VECTORS[0];
  const sig = long(v.sig);
  eq(rsaVerify("sha256", { n: long(v.n), e: h(v.e) }, h(v.msg), sig.subarray(1)), false, "short signature");
  const padded = new Uint8Array(sig.length + 1);
  padded.set(sig, 1);
  eq(rsaVerify("sha256", { n: long(v.n), e: h(v.e) }, h(v.msg), padded), false, "signature with a leading zero");
  eq(rsaVerify("sha256", { n: new Uint8Array(0), e: h(v.e) }, h(v.msg), sig), false, "empty modulus");
  const key = rsaKey(RSA_SIGN_VECTORS[0]);
  key.q = key.p;
  throws(() => rsaSign("sha256", key, ascii("x")), /rsa/, "p = q");
});
if (options.generate) {
  check("rsa generate 2048: e = 65537, n = p q, sign/verify both hashes", () => {
    const key = need("rsaGenerate")(2048);
    eq(key.n.length, 256, "modulus length");
    eq(hex(key.e), "010001", "e");
    const big = (u: Uint8Array) => BigInt(`0x${hex(u) || "0"}`);
    eq(big(key.p) * big(key.q) === big(key.n), true, "n = p q");
    eq((big(key.q) * big(key.qi)) % big(key.p) === 1n, true, "qi = q^-1 mod p");
    for (const hash of ["sha256", "sha512"] as const) {
      const sig = need("rsaSign")(hash, key, ascii("generated"));
      eq(need("rsaVerify")(hash, key, ascii("generated"), sig), true, `${hash} round trip`);
    }
  });
}

// ---- ML-KEM-768
check(`mlkem768 encapsulation Wycheproof (${MLKEM768_ENCAPS_VECTORS.length} vectors: FIPS 203 KATs, modulus overflow)`, () => {
  const encapsulate = need("mlkem768Encapsulate");
  for (const v of MLKEM768_ENCAPS_VECTORS) {
    if (v.valid) {
      const r = encapsulate(long(v.ek), h(v.m));
      eq(hex(r.ciphertext), v.c, `${v.name} ciphertext`);
      eq(hex(r.sharedSecret), v.K, `${v.name} shared secret`);
    } else throws(() => encapsulate(long(v.ek), h(v.m)), /^mlkem768: invalid public key$/, v.name);
  }
  const ek = long(MLKEM768_ENCAPS_VECTORS[0].ek);
  const a = encapsulate(ek), b = encapsulate(ek);
  eq(hex(a.ciphertext) === hex(b.ciphertext), false, "fresh randomness each time");
  throws(() => encapsulate(ek.subarray(1)), /^mlkem768: invalid public key$/, "1183-byte key");
  throws(() => encapsulate(ek, new Uint8Array(31)), /randomness/, "31 bytes of randomness");
  throws(() => hooks.mlkem768Encapsulate?.(ek, undefined, new Uint8Array(1087), new Uint8Array(32)), /ciphertext/, "short ciphertext buffer");
});

// ---- Figures: what each primitive costs through the hooks
const x = xsrun();
const heap = () => hooks.heap() ?? { inUse: 0, peak: 0, allocations: 0 };
/** Prints one figure: fn's cost averaged over `repeat` runs (after the checks above, so first-use
 * setup such as PSA's init is done; `warm` adds a run first); Mbed TLS's heap peak above what it held before; on the
 * QEMU image the C stack's depth and, for `lent`, one more run with the lent stack painted whole to
 * measure it (painting costs instructions, so it is not counted). */
function figure(name: string, fn: () => void, o: { repeat?: number; warm?: boolean; lent?: boolean } = {}): void {
  const repeat = o.repeat ?? 1;
  if (o.warm) fn();
  hooks.heap(true);
  const before = heap().inUse;
  probe?.paintStack();
  const t0 = probe ? probe.instructions() : x ? x.now() : Date.now();
  for (let i = 0; i < repeat; i++) fn();
  const t1 = probe ? probe.instructions() : x ? x.now() : Date.now();
  let line = `figure ${name} ${probe ? `instructions=${Math.round((t1 - t0) / repeat)}` : `ms=${((t1 - t0) / repeat).toFixed(3)}`} psaHeap=${heap().peak - before}`;
  if (probe) {
    line += ` stack=${probe.stackPeak()}`;
    if (o.lent) {
      probe.measureLentStack(true);
      fn();
      line += ` lentStack=${probe.lentStackPeak()}`;
      probe.measureLentStack(false);
    }
  }
  print(line);
}
/** Bytes one bulk figure moves, as SSH does it: packets of PACKET bytes. */
const MIB = 1 << 20;
const PACKET = 32 * 1024;
try {
  const ek = long(MLKEM768_ENCAPS_VECTORS[0].ek);
  figure("mlkem768-encapsulate", () => need("mlkem768Encapsulate")(ek), { repeat: 3, lent: true });
  const scalar = random(32), point = p.x25519Public(random(32));
  figure("x25519-kex-server", () => { p.x25519Public(scalar); p.x25519(scalar, point); }, { repeat: 3 });
  const seed = random(32), hash = random(32);
  figure("ed25519-sign", () => p.ed25519Sign(seed, hash), { repeat: 3 });
  for (const curve of CURVES) {
    const peer = need("ecGenerate")(curve).publicKey;
    figure(`ecdh-${curve}-kex-server`, () => { const k = need("ecGenerate")(curve); need("ecdh")(curve, k.privateKey, peer); }, { repeat: 2 });
  }
  const ec = need("ecGenerate")("p256");
  figure("ecdsa-p256-sign", () => need("ecdsaSign")("p256", ec.privateKey, hash), { repeat: 3 });
  const ecSig = need("ecdsaSign")("p256", ec.privateKey, hash);
  figure("ecdsa-p256-verify", () => need("ecdsaVerify")("p256", ec.publicKey, hash, ecSig), { repeat: 2 });
  const rsa3072 = RSA_SIGN_VECTORS.find((v) => v.n.length === 768 && v.hash === "sha512");
  const rsa2048 = RSA_SIGN_VECTORS.find((v) => v.n.length === 512 && v.hash === "sha256");
  if (!rsa3072 || !rsa2048) throw new Error("no RSA-3072/2048 signing vector");
  const k3072 = rsaKey(rsa3072), k2048 = rsaKey(rsa2048);
  figure("rsa3072-sign-sha512", () => need("rsaSign")("sha512", k3072, hash));
  const s3072 = need("rsaSign")("sha512", k3072, hash), s2048 = need("rsaSign")("sha256", k2048, hash);
  figure("rsa3072-verify-sha512", () => need("rsaVerify")("sha512", k3072, hash, s3072), { repeat: 2 });
  figure("rsa2048-verify-sha256", () => need("rsaVerify")("sha256", k2048, hash, s2048), { repeat: 2 });
  // Bulk: 1 MiB in 32 KiB packets through one buffer (the QEMU heap has no room for a whole MiB).
  const packet = new Uint8Array(4 + PACKET + 16);
  const gcm = need("createAesGcm")(random(32)), iv = random(12);
  figure("aes256-gcm-1MiB", () => { for (let n = 0; n < MIB; n += PACKET) gcm.seal(iv, packet, 0, PACKET); });
  gcm.dispose();
  const ctr = need("createAesCtr")(random(32), random(16)), mac = need("createHmac")("sha256", random(32)), tag = new Uint8Array(32);
  figure("aes256-ctr-1MiB", () => { for (let n = 0; n < MIB; n += PACKET) ctr.process(packet, 0, 4 + PACKET); });
  figure("hmac-sha256-1MiB", () => { for (let n = 0; n < MIB; n += PACKET) mac.mac(n, packet, 0, 4 + PACKET, tag, 0); });
  ctr.dispose();
  mac.dispose();
  const key = random(32), nonce = random(8), poly = new Uint8Array(16), body = packet.subarray(0, 4 + PACKET);
  figure("chacha20-poly1305-1MiB", () => { for (let n = 0; n < MIB; n += PACKET) { p.chacha20(key, nonce, 1, body, body); p.poly1305(key, body, poly); } });
  if (options.keygen3072) figure("rsa3072-generate", () => need("rsaGenerate")(3072));
} catch (e) {
  check("figures", () => { throw e; });
}

summary();
