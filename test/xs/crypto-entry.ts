// Runs under XS (xsrun), bundled by test/xs-crypto.test.ts: the published vectors (test/vectors.ts)
// and cross-checks computed by node's provider (globalThis.XS_INPUT, a script evaluated first)
// through createNativeProvider over the native hooks. Prints "ok NAME" / "not ok NAME: why" per
// check, "timing NAME MS" lines, and a last line "N passed, M failed" (test/xs/harness.ts).

import { createNativeProvider } from "../../modules/crypto/native.js";
import type { CryptoProvider } from "../../modules/crypto/provider.js";
import { nativeHooks, print, xsrun } from "../../hosts/qemu/xs/host.js";
import { atOffset, check, eq, summary, throws } from "./harness.js";
import {
  CHACHA_KEYSTREAMS, CHACHA_SUNSCREEN, ED25519_IDENTITY_SIGNATURE, ED25519_SMALL_ORDER_KEYS, ED25519_VECTORS, POLY1305_VECTORS,
  SHA256_VECTORS, SHA512_VECTORS, X25519_DH, X25519_ITERATED, X25519_LOW_ORDER, X25519_VECTORS, ascii, h, hex,
} from "../vectors.js";

/** One random case, inputs and node's outputs (see test/xs-crypto.test.ts): short values as hex, long
 * ones as arrays of bytes (XS indexes long strings slowly, see vectors.ts h()). */
export interface CrossCase {
  data: number[];
  off: number;
  key: string;
  nonce: string;
  counter: number;
  sha256: string;
  sha512: string;
  poly1305: string;
  chacha20: number[];
  curve?: { scalar: string; point: string; shared: string; scalarPublic: string; seed: string; edPublic: string; message: number[]; signature: string };
}
export interface XsCryptoInput {
  cases: CrossCase[];
  /** Counter-boundary cases: ChaCha20 from `counter` over `length` bytes of zeros, node's key stream. */
  boundary: { key: string; nonce: string; counter: number; length: number; stream: string }[];
}

const input = (globalThis as unknown as { XS_INPUT?: XsCryptoInput }).XS_INPUT;
const p: CryptoProvider = createNativeProvider(nativeHooks());

function random(n: number): Uint8Array {
  const b = new Uint8Array(n);
  p.randomBytes(b);
  return b;
}

// ---- SHA-2
check("sha256 FIPS 180-4", () => {
  for (const v of SHA256_VECTORS) eq(hex(p.sha256(ascii(v.msg))), v.digest, v.msg);
  eq(hex(p.sha256(atOffset(ascii(SHA256_VECTORS[2].msg)))), SHA256_VECTORS[2].digest, "at offset");
  eq(Object.getPrototypeOf(p.sha256(new Uint8Array(0))), Uint8Array.prototype, "result type");
});
check("sha512 FIPS 180-4", () => {
  for (const v of SHA512_VECTORS) eq(hex(p.sha512(ascii(v.msg))), v.digest, v.msg);
  eq(hex(p.sha512(atOffset(ascii(SHA512_VECTORS[2].msg), 5))), SHA512_VECTORS[2].digest, "at offset");
});

// ---- X25519
check("x25519 RFC 7748 5.2", () => {
  for (const v of X25519_VECTORS) {
    eq(hex(p.x25519(h(v.scalar), h(v.point))), v.out, v.scalar);
    eq(hex(p.x25519(atOffset(h(v.scalar), 1), atOffset(h(v.point), 7))), v.out, "at offset");
  }
});
check("x25519 RFC 7748 5.2 iterated 1000", () => {
  let k = h(X25519_ITERATED.start);
  let u = k;
  for (let i = 1; i <= 1000; i++) {
    const next = p.x25519(k, u);
    u = k;
    k = next;
    if (i === 1) eq(hex(k), X25519_ITERATED.after1, "after 1");
  }
  eq(hex(k), X25519_ITERATED.after1000, "after 1000");
});
check("x25519 RFC 7748 6.1 Diffie-Hellman", () => {
  const alicePub = p.x25519Public(h(X25519_DH.alice));
  const bobPub = p.x25519Public(h(X25519_DH.bob));
  eq(hex(alicePub), X25519_DH.alicePub, "alice public");
  eq(hex(bobPub), X25519_DH.bobPub, "bob public");
  eq(hex(p.x25519(h(X25519_DH.alice), bobPub)), X25519_DH.shared, "alice shared");
  eq(hex(p.x25519(h(X25519_DH.bob), alicePub)), X25519_DH.shared, "bob shared");
});
check("x25519 low-order points throw", () => {
  const scalar = h(X25519_VECTORS[0].scalar);
  for (const u of X25519_LOW_ORDER) throws(() => p.x25519(scalar, h(u)), /^x25519: low-order point$/, u);
  throws(() => p.x25519(scalar.subarray(1), h(X25519_VECTORS[0].point)), /32 bytes/, "short scalar");
});

// ---- Ed25519
for (const v of ED25519_VECTORS) {
  check(`ed25519 RFC 8032 ${v.name}`, () => {
    const seed = h(v.seed), pub = h(v.pub), msg = h(v.msg), sig = h(v.sig);
    eq(hex(p.ed25519Public(seed)), v.pub, "public key");
    eq(hex(p.ed25519Sign(seed, msg)), v.sig, "signature");
    eq(hex(p.ed25519Sign(atOffset(seed), atOffset(msg, 1))), v.sig, "signature at offsets");
    eq(p.ed25519Verify(pub, msg, sig), true, "verify");
    eq(p.ed25519Verify(atOffset(pub), atOffset(msg), atOffset(sig)), true, "verify at offsets");
    const msg2 = msg.length ? msg.slice() : new Uint8Array(1);
    if (msg.length) msg2[msg2.length - 1] ^= 1;
    eq(p.ed25519Verify(pub, msg2, sig), false, "changed message");
    for (const bit of [0, 7, 255, 256, 300, 511]) {
      const s2 = sig.slice();
      s2[bit >> 3] ^= 1 << (bit & 7);
      eq(p.ed25519Verify(pub, msg, s2), false, `signature bit ${bit}`);
    }
    for (const bit of [0, 100, 254, 255]) {
      const k2 = pub.slice();
      k2[bit >> 3] ^= 1 << (bit & 7);
      eq(p.ed25519Verify(k2, msg, sig), false, `key bit ${bit}`);
    }
    eq(p.ed25519Verify(pub.subarray(0, 31), msg, sig), false, "short key");
    eq(p.ed25519Verify(pub, msg, sig.subarray(0, 63)), false, "short signature");
  });
}
check("ed25519 small-order and non-canonical keys refused", () => {
  const msg = ascii("hello");
  for (const k of ED25519_SMALL_ORDER_KEYS) {
    eq(p.ed25519Verify(h(k), msg, h(ED25519_IDENTITY_SIGNATURE)), false, k);
    eq(p.ed25519Verify(h(k), msg, random(64)), false, k);
  }
  for (let i = 0; i < 20; i++) eq(p.ed25519Verify(random(32), msg, random(64)), false, "garbage");
});

// ---- ChaCha20 (original layout) and Poly1305
check("chacha20 RFC 8439 2.4.2 (original layout)", () => {
  const plain = ascii(CHACHA_SUNSCREEN.plain);
  const out = new Uint8Array(plain.length);
  p.chacha20(h(CHACHA_SUNSCREEN.key), h(CHACHA_SUNSCREEN.nonce), CHACHA_SUNSCREEN.counter, plain, out);
  eq(hex(out), CHACHA_SUNSCREEN.cipher, "cipher text");
  const buf = atOffset(out, 5);
  p.chacha20(atOffset(h(CHACHA_SUNSCREEN.key), 1), atOffset(h(CHACHA_SUNSCREEN.nonce), 7), 1, buf, buf);
  eq(hex(buf), hex(plain), "decrypted in place at an offset");
  eq(buf.buffer.byteLength, plain.length + 10, "buffer");
  const all = new Uint8Array(buf.buffer);
  eq(all[4] === 0xa5 && all[5 + plain.length] === 0xa5, true, "bytes around the view untouched");
});
for (const v of CHACHA_KEYSTREAMS) {
  check(`chacha20 RFC 8439 A.1 #${v.n}`, () => {
    const out = new Uint8Array(64);
    p.chacha20(h(v.key), h(v.nonce), v.counter, new Uint8Array(64), out);
    eq(hex(out), v.ks, "key stream");
  });
}
check("chacha20 continues the stream; longer output; errors", () => {
  const key = random(32), nonce = random(8), plain = random(1000), whole = new Uint8Array(1000);
  p.chacha20(key, nonce, 0, plain, whole);
  const tail = plain.slice(192);
  p.chacha20(key, nonce, 3, tail, tail);
  eq(hex(tail), hex(whole.subarray(192)), "block 3");
  const big = new Uint8Array(1100).fill(7);
  p.chacha20(key, nonce, 0, plain, big);
  eq(hex(big.subarray(0, 1000)), hex(whole), "longer output");
  eq(big.subarray(1000).every((b) => b === 7), true, "tail untouched");
  p.chacha20(key, nonce, 5, new Uint8Array(0), new Uint8Array(0));
  throws(() => p.chacha20(key, nonce, 0, plain, new Uint8Array(10)), /output shorter/, "short output");
  throws(() => p.chacha20(key, nonce.subarray(0, 7), 0, plain, whole), /nonce/, "short nonce");
  throws(() => p.chacha20(key, nonce, 2 ** 32, plain, whole), /counter/, "counter 2^32");
});
check("hooks check lengths themselves", () => {
  const hooks = nativeHooks();
  throws(() => hooks.chacha20(new Uint8Array(31), new Uint8Array(8), 0, new Uint8Array(4), new Uint8Array(4)), /key must be 32 bytes/, "key");
  throws(() => hooks.chacha20(new Uint8Array(32), new Uint8Array(8), 0, new Uint8Array(4), new Uint8Array(3)), /output shorter/, "output");
  throws(() => hooks.chacha20(new Uint8Array(32), new Uint8Array(8), -1, new Uint8Array(4), new Uint8Array(4)), /counter/, "counter");
  throws(() => hooks.poly1305(new Uint8Array(32), new Uint8Array(4), new Uint8Array(15)), /16 bytes/, "poly1305 out");
  throws(() => hooks.sha256({} as Uint8Array, new Uint8Array(32)), /buffer/, "not a buffer");
  eq(hooks.ed25519Verify(new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)), false, "short key");
});
for (const v of POLY1305_VECTORS) {
  check(`poly1305 RFC 8439 ${v.name}`, () => {
    const out = new Uint8Array(16);
    p.poly1305(h(v.key), v.msg, out);
    eq(hex(out), v.tag, "tag");
    const out2 = atOffset(new Uint8Array(16), 1);
    p.poly1305(atOffset(h(v.key), 3), atOffset(v.msg, 5), out2);
    eq(hex(out2), v.tag, "tag at offsets");
  });
}
check("randomBytes fills a view and nothing around it", () => {
  const b = atOffset(new Uint8Array(64), 3);
  p.randomBytes(b);
  eq(b.some((x) => x !== 0xa5), true, "filled");
  const all = new Uint8Array(b.buffer);
  eq(all[2] === 0xa5 && all[67] === 0xa5, true, "bytes around untouched");
});

// ---- Cross-checks against node's provider
if (input) {
  check(`${input.cases.length} random cases agree with node`, () => {
    for (let i = 0; i < input.cases.length; i++) {
      const c = input.cases[i];
      const ctx = `case ${i}`;
      const data = atOffset(new Uint8Array(c.data), c.off);
      const want = hex(new Uint8Array(c.chacha20));
      const key = atOffset(h(c.key), 1), nonce = atOffset(h(c.nonce), 3);
      eq(hex(p.sha256(data)), c.sha256, `${ctx} sha256`);
      eq(hex(p.sha512(data)), c.sha512, `${ctx} sha512`);
      const tag = atOffset(new Uint8Array(16), 1);
      p.poly1305(key, data, tag);
      eq(hex(tag), c.poly1305, `${ctx} poly1305`);
      const ct = atOffset(new Uint8Array(data.length), 1);
      p.chacha20(key, nonce, c.counter, data, ct);
      eq(hex(ct), want, `${ctx} chacha20`);
      const inPlace = atOffset(data, 7);
      p.chacha20(key, nonce, c.counter, inPlace, inPlace);
      eq(hex(inPlace), want, `${ctx} chacha20 in place`);
      if (c.curve) {
        const k = c.curve;
        eq(hex(p.x25519(atOffset(h(k.scalar), 1), atOffset(h(k.point), 3))), k.shared, `${ctx} x25519`);
        eq(hex(p.x25519Public(h(k.scalar))), k.scalarPublic, `${ctx} x25519Public`);
        eq(hex(p.ed25519Public(atOffset(h(k.seed), 5))), k.edPublic, `${ctx} ed25519Public`);
        const msg = new Uint8Array(k.message);
        eq(hex(p.ed25519Sign(h(k.seed), msg)), k.signature, `${ctx} ed25519Sign`);
        eq(p.ed25519Verify(atOffset(h(k.edPublic)), msg, atOffset(h(k.signature))), true, `${ctx} ed25519Verify`);
        const bad = h(k.signature);
        bad[i % 64] ^= 1 << (i % 8);
        eq(p.ed25519Verify(h(k.edPublic), msg, bad), false, `${ctx} ed25519Verify of a changed signature`);
      }
    }
  });
  check(`${input.boundary.length} chacha20 counter-boundary cases agree with node`, () => {
    for (const b of input.boundary) {
      const out = new Uint8Array(b.length);
      p.chacha20(h(b.key), h(b.nonce), b.counter, new Uint8Array(b.length), out);
      eq(hex(out), b.stream, `counter ${b.counter.toString(16)} length ${b.length}`);
    }
  });
} else {
  check("XS_INPUT present", () => {
    throw new Error("no cross-check input");
  });
}

// ---- Timings (informational)
const x = xsrun();
if (x) {
  const time = (name: string, n: number, fn: () => void) => {
    const t0 = x.now();
    for (let i = 0; i < n; i++) fn();
    print(`timing ${name} ${((x.now() - t0) / n).toFixed(4)} ms`);
  };
  const scalar = random(32), point = p.x25519Public(random(32)), seed = random(32), msg = random(200);
  const sig = p.ed25519Sign(seed, msg), pub = p.ed25519Public(seed);
  time("x25519", 50, () => p.x25519(scalar, point));
  time("ed25519Sign", 50, () => p.ed25519Sign(seed, msg));
  time("ed25519Verify", 50, () => p.ed25519Verify(pub, msg, sig));
  const mib = new Uint8Array(1 << 20), tag = new Uint8Array(16), key = random(32), nonce = random(8);
  // 1 MiB the way chacha20-poly1305@openssh.com does it: 32 packets of 32 KiB.
  time("chacha20-poly1305-1MiB", 5, () => {
    for (let off = 0; off < mib.length; off += 32768) {
      const packet = mib.subarray(off, off + 32768);
      p.chacha20(key, nonce, 1, packet, packet);
      p.poly1305(key, packet, tag);
    }
  });
}

summary();
