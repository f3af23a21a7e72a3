// The optional primitives (modules/crypto/provider.ts) against published vectors (test/vectors-algs.ts:
// FIPS 180-4, RFC 4231, SP 800-38A, RFC 6979, Wycheproof ECDH/ECDSA/RSA/ML-KEM-768, SSH-layout GCM)
// through the noble provider (the reference that also runs under XS), the node provider and the node
// host's native one (node+openssl), each for the features it lists; then the providers against each
// other on random inputs.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomFillSync, randomInt } from "node:crypto";
import type { CryptoFeature, CryptoProvider, EcCurve } from "../modules/crypto/provider.js";
import { createNobleProvider } from "../modules/crypto/noble.js";
import { createNodeProvider } from "../hosts/node/crypto_node.js";
import { createNativeProvider } from "../hosts/node/crypto_native.js";
import { ensureTool } from "./helpers/tools.js";
import { h, hex } from "./vectors.js";
import {
  AES_CTR_VECTORS, AES_GCM_SSH_VECTORS, ECDH_VECTORS, ECDSA_VECTORS, EC_CURVE_ORDERS, EC_KEY_VECTORS, HMAC_VECTORS, MLKEM768_ENCAPS_VECTORS,
  RSA_SIGN_VECTORS, RSA_VERIFY_VECTORS, SHA384_VECTORS,
} from "./vectors-algs.js";

const noble = createNobleProvider((out) => randomFillSync(out));
const node = createNodeProvider();
// The node host's packet crypto addon must build here (a missing compiler is installed; a build
// failure fails this file): its HMAC, AES-CTR and AES-GCM run through every vector below.
ensureTool("cc", "gcc");
const native = createNativeProvider();
const providers = [noble, node, native];

/** Runs `fn` for each provider that lists `feature`; a provider without it must not have the methods. */
function withFeature(feature: CryptoFeature, title: string, fn: (p: CryptoProvider) => void): void {
  for (const p of providers) {
    if (p.features.includes(feature)) it(`${title} [${p.name}]`, () => fn(p));
  }
}

const at = (b: Uint8Array, off = 3): Uint8Array => {
  const big = new Uint8Array(b.length + off + 7).fill(0xa5);
  big.set(b, off);
  return big.subarray(off, off + b.length);
};

describe("features", () => {
  it("node lists everything; noble everything but RSA (no kept pure-TypeScript RSA)", () => {
    const all: CryptoFeature[] = ["sha384", "hmac-sha256", "hmac-sha512", "aes-gcm", "aes-ctr", "ecdh-p256", "ecdh-p384", "ecdh-p521", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "mlkem768"];
    for (const f of all) {
      assert.ok(node.features.includes(f), `node: ${f}`);
      assert.ok(noble.features.includes(f), `noble: ${f}`);
    }
    assert.ok(node.features.includes("rsa") && node.features.includes("rsa-generate"));
    assert.ok(!noble.features.includes("rsa") && !noble.features.includes("rsa-generate"));
    assert.equal(noble.rsaSign, undefined);
  });
});

describe("SHA-384 (FIPS 180-4)", () => {
  withFeature("sha384", "examples", (p) => {
    for (const v of SHA384_VECTORS) assert.equal(hex(p.sha384!(at(h(v.msg)))), v.digest, v.name);
  });
});

describe("HMAC-SHA-256/512 over uint32 seq || data (RFC 4231)", () => {
  for (const f of ["hmac-sha256", "hmac-sha512"] as const) {
    withFeature(f, f, (p) => {
      for (const v of HMAC_VECTORS.filter((x) => `hmac-${x.hash}` === f)) {
        const k = p.createHmac!(v.hash, h(v.key));
        const data = h(v.data);
        const buf = new Uint8Array(data.length + 10);
        buf.set(data, 5);
        const out = new Uint8Array(k.size + 6);
        for (let round = 0; round < 2; round++) {
          k.mac(v.seq, buf, 5, data.length, out, 3);
          const n = v.truncate ?? k.size;
          assert.equal(hex(out.subarray(3, 3 + n)), v.mac.slice(0, 2 * n), `${v.name} round ${round}`);
        }
        k.dispose();
      }
    });
  }
});

describe("AES-CTR (SP 800-38A F.5), one stream over uneven pieces", () => {
  withFeature("aes-ctr", "CTR-AES128/192/256", (p) => {
    for (const v of AES_CTR_VECTORS) {
      const plain = h(v.plain);
      for (const pieces of [[plain.length], [1, 15, 16, 17, 15], [7, 9, 33, 15]]) {
        const s = p.createAesCtr!(h(v.key), h(v.iv));
        const buf = at(plain.slice());
        let off = 0;
        for (const n of pieces) {
          const take = Math.min(n, plain.length - off);
          s.process(buf, off, take);
          off += take;
        }
        if (off < plain.length) s.process(buf, off, plain.length - off);
        assert.equal(hex(buf), v.cipher, `${v.name} in pieces ${pieces}`);
        s.dispose();
      }
    }
  });
  withFeature("aes-ctr", "the 128-bit counter carries across all 16 bytes", (p) => {
    const key = randomBytes(16);
    const iv = new Uint8Array(16).fill(0xff);
    const a = new Uint8Array(48);
    p.createAesCtr!(key, iv).process(a, 0, 48);
    // Block 1 is the counter 0 (wrapped), block 2 counter 1: compare with a stream started there.
    const b = new Uint8Array(32);
    p.createAesCtr!(key, new Uint8Array(16)).process(b, 0, 32);
    assert.equal(hex(a.subarray(16)), hex(b));
  });
});

describe("AES-GCM in the SSH packet layout (RFC 5647, PROTOCOL 1.6)", () => {
  withFeature("aes-gcm", "seal and open; a flipped bit anywhere fails and leaves the packet unchanged", (p) => {
    for (const v of AES_GCM_SSH_VECTORS) {
      const key = p.createAesGcm!(h(v.key));
      const iv = h(v.iv), plain = h(v.plain), len = plain.length;
      const buf = new Uint8Array(4 + len + 16 + 8);
      buf.set(h(v.packetLength), 2);
      buf.set(plain, 6);
      key.seal(iv, buf, 2, len);
      assert.equal(hex(buf.subarray(6, 6 + len)), v.cipher, v.name);
      assert.equal(hex(buf.subarray(6 + len, 6 + len + 16)), v.tag, v.name);
      for (const bit of [0, 8 * 4, 8 * (4 + len) + 3, 8 * (4 + len + 15) + 7]) {
        const bad = buf.slice();
        bad[2 + (bit >> 3)] ^= 1 << (bit & 7);
        const before = bad.slice();
        assert.equal(key.open(iv, bad, 2, len), false, `${v.name} bit ${bit}`);
        assert.deepEqual(bad, before, "nothing decrypted when the tag fails");
      }
      assert.equal(key.open(iv, buf, 2, len), true, v.name);
      assert.equal(hex(buf.subarray(6, 6 + len)), v.plain);
      key.dispose();
    }
  });
});

describe("EC keys, ECDH and ECDSA (RFC 6979, Wycheproof)", () => {
  for (const curve of ["p256", "p384", "p521"] as EcCurve[]) {
    withFeature(`ecdsa-${curve}`, `${curve}: public keys of known private keys; 0 and n refused`, (p) => {
      for (const v of EC_KEY_VECTORS.filter((x) => x.curve === curve)) assert.equal(hex(p.ecPublic!(curve, at(h(v.private)))), v.public, v.name);
      const order = EC_CURVE_ORDERS.find((o) => o.curve === curve)!;
      assert.throws(() => p.ecPublic!(curve, h(order.n)), RangeError);
      assert.throws(() => p.ecPublic!(curve, new Uint8Array(h(order.n).length)), RangeError);
    });
    withFeature(`ecdh-${curve}`, `${curve}: Wycheproof ECDH (points off the curve and compressed points throw)`, (p) => {
      for (const v of ECDH_VECTORS.filter((x) => x.curve === curve)) {
        if (v.valid) assert.equal(hex(p.ecdh!(curve, h(v.private), at(h(v.public)))), v.shared, v.name);
        else assert.throws(() => p.ecdh!(curve, h(v.private), h(v.public)), /ecdh: invalid public key/, v.name);
      }
    });
    withFeature(`ecdsa-${curve}`, `${curve}: RFC 6979 and Wycheproof ECDSA verification; our signatures verify`, (p) => {
      for (const v of ECDSA_VECTORS.filter((x) => x.curve === curve)) assert.equal(p.ecdsaVerify!(curve, h(v.public), at(h(v.msg)), h(v.sig)), v.valid, v.name);
      const k = p.ecGenerate!(curve);
      const msg = randomBytes(100);
      const sig = p.ecdsaSign!(curve, k.privateKey, msg);
      for (const q of providers) if (q.features.includes(`ecdsa-${curve}`)) assert.ok(q.ecdsaVerify!(curve, k.publicKey, msg, sig), `${q.name} verifies ${p.name}'s`);
      assert.equal(p.ecdsaVerify!(curve, k.publicKey, msg, sig.subarray(1)), false, "wrong length");
    });
  }
});

describe("RSASSA-PKCS1-v1_5 (Wycheproof)", () => {
  withFeature("rsa", "signatures equal the published ones; verification cases", (p) => {
    for (const v of RSA_SIGN_VECTORS) {
      const key = { n: h(v.n), e: h(v.e), d: h(v.d), p: h(v.p), q: h(v.q), dp: h(v.dp), dq: h(v.dq), qi: h(v.qi) };
      assert.equal(hex(p.rsaSign!(v.hash, key, h(v.msg))), v.sig, v.name);
    }
    for (const v of RSA_VERIFY_VECTORS) assert.equal(p.rsaVerify!(v.hash, { n: h(v.n), e: h(v.e) }, h(v.msg), h(v.sig)), v.valid, v.name);
  });
  withFeature("rsa-generate", "a generated 2048-bit key signs and verifies", (p) => {
    const k = p.rsaGenerate!(2048);
    assert.equal(k.n.length, 256);
    assert.equal(hex(k.e), "010001");
    const sig = p.rsaSign!("sha256", k, Uint8Array.of(1, 2, 3));
    assert.ok(p.rsaVerify!("sha256", k, Uint8Array.of(1, 2, 3), sig));
    assert.ok(!p.rsaVerify!("sha512", k, Uint8Array.of(1, 2, 3), sig));
  });
});

describe("ML-KEM-768 encapsulation (FIPS 203, Wycheproof)", () => {
  withFeature("mlkem768", "known answers; keys failing the modulus check throw", (p) => {
    for (const v of MLKEM768_ENCAPS_VECTORS) {
      if (v.valid) {
        const r = p.mlkem768Encapsulate!(h(v.ek), h(v.m));
        assert.equal(hex(r.ciphertext), v.c, v.name);
        assert.equal(hex(r.sharedSecret), v.K, v.name);
      } else {
        assert.throws(() => p.mlkem768Encapsulate!(h(v.ek), h(v.m)), /mlkem768: invalid public key/, v.name);
      }
    }
    assert.throws(() => p.mlkem768Encapsulate!(new Uint8Array(1183)), /mlkem768: invalid public key/);
    const r = p.mlkem768Encapsulate!(h(MLKEM768_ENCAPS_VECTORS[0].ek));
    assert.equal(r.ciphertext.length, 1088);
    assert.equal(r.sharedSecret.length, 32);
  });
});

describe("noble, node and node+openssl agree on random inputs", () => {
  it("HMAC, AES-CTR, AES-GCM, ECDH, SHA-384", () => {
    for (let i = 0; i < 40; i++) {
      const len = randomInt(0, 3000);
      const data = randomBytes(len);
      assert.equal(hex(noble.sha384!(data)), hex(node.sha384!(data)));
      const key = randomBytes(randomInt(1, 200));
      for (const hash of ["sha256", "sha512"] as const) {
        const a = new Uint8Array(64), b = new Uint8Array(64);
        const seq = randomInt(0, 2 ** 32 - 1);
        noble.createHmac!(hash, key).mac(seq, data, 0, len, a, 0);
        node.createHmac!(hash, key).mac(seq, data, 0, len, b, 0);
        assert.equal(hex(a), hex(b));
        native.createHmac!(hash, key).mac(seq, data, 0, len, b, 0);
        assert.equal(hex(a), hex(b), "node+openssl hmac");
      }
      const aesKey = randomBytes([16, 24, 32][i % 3]), iv = randomBytes(16);
      const x = data.slice(), y = data.slice(), z = data.slice();
      noble.createAesCtr!(aesKey, iv).process(x, 0, len);
      node.createAesCtr!(aesKey, iv).process(y, 0, len);
      native.createAesCtr!(aesKey, iv).process(z, 0, len);
      assert.equal(hex(x), hex(y));
      assert.equal(hex(x), hex(z), "node+openssl ctr");
      const gk = randomBytes(i % 2 ? 16 : 32), nonce = randomBytes(12), body = 16 * randomInt(1, 100);
      const p1 = new Uint8Array(4 + body + 16);
      p1.set(randomBytes(4 + body));
      const p2 = p1.slice(), p3 = p1.slice();
      noble.createAesGcm!(gk).seal(nonce, p1, 0, body);
      node.createAesGcm!(gk).seal(nonce, p2, 0, body);
      native.createAesGcm!(gk).seal(nonce, p3, 0, body);
      assert.equal(hex(p1), hex(p2));
      assert.equal(hex(p1), hex(p3), "node+openssl gcm");
      assert.ok(native.createAesGcm!(gk).open(nonce, p1, 0, body), "node+openssl opens noble's");
      assert.ok(noble.createAesGcm!(gk).open(nonce, p2, 0, body));
      const curve = (["p256", "p384", "p521"] as const)[i % 3];
      const ka = noble.ecGenerate!(curve), kb = node.ecGenerate!(curve);
      assert.equal(hex(noble.ecdh!(curve, ka.privateKey, kb.publicKey)), hex(node.ecdh!(curve, kb.privateKey, ka.publicKey)));
    }
  });
});
