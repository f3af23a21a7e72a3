// Known-answer tests for every CryptoProvider primitive, run through the noble provider
// (modules/crypto/noble.ts, the reference that also runs under XS), the node provider
// (hosts/node/crypto_node.ts) and the node host's native one (hosts/node/crypto_native.ts, "node+openssl"),
// plus randomized cross-checks that they agree byte for byte.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync, randomInt } from 'node:crypto';
import type { CryptoProvider } from '../modules/crypto/provider.js';
import { createNobleProvider } from '../modules/crypto/noble.js';
import { createNodeProvider } from '../hosts/node/crypto_node.js';
import { createNativeProvider } from '../hosts/node/crypto_native.js';
import { ensureTool } from './helpers/tools.js';

// The node host's packet crypto addon (hosts/node/native/packet_crypto.c over node's OpenSSL) must
// build here: a missing compiler is installed, and any build or load failure fails this file.
ensureTool('cc', 'gcc');
const native = createNativeProvider();
const providers: CryptoProvider[] = [createNobleProvider((out) => randomFillSync(out)), createNodeProvider(), native];
const [noble, node] = providers;

import {
  CHACHA_KEYSTREAMS, CHACHA_SUNSCREEN, ED25519_IDENTITY_SIGNATURE, ED25519_SMALL_ORDER_KEYS, ED25519_VECTORS, POLY1305_VECTORS,
  SHA256_VECTORS, SHA512_VECTORS, SHA_448_BIT_MESSAGE, X25519_DH, X25519_ITERATED, X25519_LOW_ORDER, X25519_VECTORS, ascii, h, hex,
} from './vectors.js';
/** A copy of `data` placed at an odd byteOffset inside a larger buffer. */
function atOffset(data: Uint8Array, offset = 3): Uint8Array {
  const big = new Uint8Array(data.length + offset + 5);
  big.fill(0xa5);
  big.set(data, offset);
  return big.subarray(offset, offset + data.length);
}
function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  randomFillSync(b);
  return b;
}

function eachProvider(title: string, fn: (p: CryptoProvider) => void): void {
  for (const p of providers) it(`${title} [${p.name}]`, () => fn(p));
}

// ---------------------------------------------------------------------------------------------
describe('SHA-2 (FIPS 180-4 examples)', () => {
  const m448 = ascii(SHA_448_BIT_MESSAGE);
  eachProvider('sha256', (p) => {
    for (const v of SHA256_VECTORS) assert.equal(hex(p.sha256(ascii(v.msg))), v.digest, v.msg);
    assert.equal(hex(p.sha256(atOffset(m448))), SHA256_VECTORS[2].digest);
    const d = p.sha256(ascii('abc'));
    assert.equal(d.length, 32);
    assert.equal(Object.getPrototypeOf(d), Uint8Array.prototype);
  });
  eachProvider('sha512', (p) => {
    for (const v of SHA512_VECTORS) assert.equal(hex(p.sha512(ascii(v.msg))), v.digest, v.msg);
    assert.equal(hex(p.sha512(atOffset(m448))), SHA512_VECTORS[2].digest);
    assert.equal(p.sha512(ascii('abc')).length, 64);
  });
});

// ---------------------------------------------------------------------------------------------
describe('X25519 (RFC 7748)', () => {
  eachProvider('section 5.2 single-iteration vectors', (p) => {
    const [a, b] = X25519_VECTORS;
    assert.equal(hex(p.x25519(h(a.scalar), h(a.point))), a.out);
    // The u-coordinate has its top bit set: implementations must mask it.
    assert.equal(hex(p.x25519(atOffset(h(b.scalar)), atOffset(h(b.point)))), b.out);
  });

  eachProvider('section 5.2 iterated: 1 and 1000 iterations', (p) => {
    let k = h(X25519_ITERATED.start);
    let u = k;
    for (let i = 1; i <= 1000; i++) {
      const next = p.x25519(k, u);
      u = k;
      k = next;
      if (i === 1) assert.equal(hex(k), X25519_ITERATED.after1);
    }
    assert.equal(hex(k), X25519_ITERATED.after1000);
  });

  eachProvider('section 6.1 Diffie-Hellman', (p) => {
    const alice = h(X25519_DH.alice);
    const bob = h(X25519_DH.bob);
    const alicePub = p.x25519Public(alice);
    const bobPub = p.x25519Public(bob);
    assert.equal(hex(alicePub), X25519_DH.alicePub);
    assert.equal(hex(bobPub), X25519_DH.bobPub);
    assert.equal(hex(p.x25519(alice, bobPub)), X25519_DH.shared);
    assert.equal(hex(p.x25519(bob, alicePub)), X25519_DH.shared);
  });

  // Behaviour choice shared by both providers: a low-order point (all-zero result, RFC 7748 6.1,
  // RFC 8731 3) throws Error('x25519: low-order point') instead of returning 32 zero bytes.
  eachProvider('low-order points throw', (p) => {
    const scalar = h('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    for (const u of X25519_LOW_ORDER) assert.throws(() => p.x25519(scalar, h(u)), /x25519: low-order point/, u);
  });
});

// ---------------------------------------------------------------------------------------------
describe('Ed25519 (RFC 8032 section 7.1)', () => {
  const vectors = ED25519_VECTORS;

  it('TEST 1024 message is 1023 bytes', () => assert.equal(h(vectors[3].msg).length, 1023));

  for (const v of vectors) {
    eachProvider(v.name, (p) => {
      const seed = h(v.seed), pub = h(v.pub), msg = h(v.msg), sig = h(v.sig);
      assert.equal(hex(p.ed25519Public(seed)), v.pub);
      assert.equal(hex(p.ed25519Sign(seed, msg)), v.sig);
      assert.equal(hex(p.ed25519Sign(atOffset(seed), atOffset(msg))), v.sig);
      assert.equal(p.ed25519Verify(pub, msg, sig), true);
      assert.equal(p.ed25519Verify(atOffset(pub), atOffset(msg), atOffset(sig)), true);
      // A changed message (a flipped bit, or one byte more when the message is empty).
      const msg2 = msg.length ? msg.slice() : new Uint8Array(1);
      if (msg.length) msg2[msg2.length - 1] ^= 0x01;
      assert.equal(p.ed25519Verify(pub, msg2, sig), false);
      for (const bit of [0, 7, 255, 256, 300, 511]) {
        const s2 = sig.slice();
        s2[bit >> 3] ^= 1 << (bit & 7);
        assert.equal(p.ed25519Verify(pub, msg, s2), false, `signature bit ${bit}`);
      }
      for (const bit of [0, 100, 254, 255]) {
        const k2 = pub.slice();
        k2[bit >> 3] ^= 1 << (bit & 7);
        assert.equal(p.ed25519Verify(k2, msg, sig), false, `key bit ${bit}`);
      }
      assert.equal(p.ed25519Verify(pub.subarray(0, 31), msg, sig), false);
      assert.equal(p.ed25519Verify(pub, msg, sig.subarray(0, 63)), false);
    });
  }

  // Behaviour choice shared by both providers: RFC 8032 strict decoding, small-order public keys refused.
  eachProvider('small-order and non-canonical public keys are refused, never throw', (p) => {
    const msg = ascii('hello');
    const identitySig = h(ED25519_IDENTITY_SIGNATURE); // R = identity, S = 0: cofactorless-valid under the identity key
    for (const k of ED25519_SMALL_ORDER_KEYS) {
      assert.equal(p.ed25519Verify(h(k), msg, identitySig), false, k);
      assert.equal(p.ed25519Verify(h(k), msg, randomBytes(64)), false, k);
    }
    // Garbage never throws.
    for (let i = 0; i < 20; i++) assert.equal(p.ed25519Verify(randomBytes(32), msg, randomBytes(64)), false);
  });
});

// ---------------------------------------------------------------------------------------------
describe('ChaCha20, original 64-bit counter / 64-bit nonce layout', () => {
  // The RFC 8439 (IETF) vectors mapped to this layout: see test/vectors.ts.
  const key2 = h(CHACHA_SUNSCREEN.key);
  const sunscreen = ascii(CHACHA_SUNSCREEN.plain);
  const sunscreenCt = CHACHA_SUNSCREEN.cipher;

  eachProvider('RFC 8439 2.4.2 encryption', (p) => {
    const out = new Uint8Array(sunscreen.length);
    p.chacha20(key2, h(CHACHA_SUNSCREEN.nonce), 1, sunscreen, out);
    assert.equal(hex(out), sunscreenCt);
    // Decrypt in place, at odd offsets.
    const buf = atOffset(out, 5);
    p.chacha20(atOffset(key2, 1), atOffset(h(CHACHA_SUNSCREEN.nonce), 7), 1, buf, buf);
    assert.deepEqual(buf, sunscreen);
  });

  const a1 = CHACHA_KEYSTREAMS;
  for (const v of a1) {
    eachProvider(`RFC 8439 A.1 keystream #${v.n}`, (p) => {
      const out = new Uint8Array(64);
      p.chacha20(h(v.key), h(v.nonce), v.counter, new Uint8Array(64), out);
      assert.equal(hex(out), v.ks);
    });
  }

  eachProvider('counter > 1 continues the stream; in-place; longer output buffer', (p) => {
    const key = randomBytes(32), nonce = randomBytes(8);
    const plain = randomBytes(1000);
    const whole = new Uint8Array(1000);
    p.chacha20(key, nonce, 0, plain, whole);
    // Starting at block 3 equals bytes 192.. of the stream started at block 0.
    const tail = plain.slice(192);
    p.chacha20(key, nonce, 3, tail, tail);
    assert.deepEqual(tail, whole.subarray(192));
    // A larger output buffer: only input.length bytes are written.
    const big = new Uint8Array(1100).fill(7);
    p.chacha20(key, nonce, 0, plain, big);
    assert.deepEqual(big.subarray(0, 1000), whole);
    assert.ok(big.subarray(1000).every((b) => b === 7));
    // Empty input is a no-op.
    p.chacha20(key, nonce, 5, new Uint8Array(0), new Uint8Array(0));
    assert.throws(() => p.chacha20(key, nonce, 0, plain, new Uint8Array(10)), RangeError);
    assert.throws(() => p.chacha20(key, nonce.subarray(0, 7), 0, plain, whole), RangeError);
    assert.throws(() => p.chacha20(key, nonce, 2 ** 32, plain, whole), RangeError);
  });

  it('block counter carries from word 12 into word 13 identically in both providers', () => {
    const key = randomBytes(32), nonce = randomBytes(8);
    for (const [counter, len] of [[0xffffffff, 200], [0xffffffff, 64], [0xfffffffe, 300], [0xfffffff0, 2000], [0xfffffff1, 100]]) {
      const input = randomBytes(len);
      const a = new Uint8Array(len), b = new Uint8Array(len);
      noble.chacha20(key, nonce, counter, input, a);
      node.chacha20(key, nonce, counter, input, b);
      assert.equal(hex(a), hex(b), `counter ${counter.toString(16)} len ${len}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('Poly1305 (RFC 8439)', () => {
  const vectors = POLY1305_VECTORS;
  for (const v of vectors) {
    eachProvider(v.name, (p) => {
      const out = new Uint8Array(16);
      p.poly1305(h(v.key), v.msg, out);
      assert.equal(hex(out), v.tag);
      const out2 = atOffset(new Uint8Array(16), 1);
      p.poly1305(atOffset(h(v.key), 3), atOffset(v.msg, 5), out2);
      assert.equal(hex(out2), v.tag);
    });
  }
});

// ---------------------------------------------------------------------------------------------
describe('noble and node providers agree on random inputs', () => {
  it('200 random cases of every primitive', () => {
    for (let i = 0; i < 200; i++) {
      const len = i < 40 ? randomInt(0, 300) : randomInt(0, 40001);
      const off = 1 + 2 * randomInt(0, 8); // odd byteOffsets
      const data = atOffset(randomBytes(len), off);
      const key = atOffset(randomBytes(32), 1 + 2 * randomInt(0, 4));
      const nonce = atOffset(randomBytes(8), 3);
      const counter = randomInt(0, 3) === 0 ? randomInt(0, 2 ** 32 - 2000) : randomInt(0, 3);
      const ctx = `case ${i} len ${len} off ${off}`;

      assert.equal(hex(noble.sha256(data)), hex(node.sha256(data)), ctx);
      assert.equal(hex(noble.sha512(data)), hex(node.sha512(data)), ctx);

      const t1 = new Uint8Array(16), t2 = atOffset(new Uint8Array(16), 1);
      noble.poly1305(key, data, t1);
      node.poly1305(key, data, t2);
      assert.equal(hex(t1), hex(t2), ctx);

      const c1 = new Uint8Array(len), c2 = atOffset(new Uint8Array(len), 1);
      noble.chacha20(key, nonce, counter, data, c1);
      node.chacha20(key, nonce, counter, data, c2);
      assert.equal(hex(c1), hex(c2), ctx);
      const inPlace1 = atOffset(data, 5), inPlace2 = atOffset(data, 7);
      noble.chacha20(key, nonce, counter, inPlace1, inPlace1);
      node.chacha20(key, nonce, counter, inPlace2, inPlace2);
      assert.equal(hex(inPlace1), hex(c1), ctx);
      assert.equal(hex(inPlace2), hex(c1), ctx);

      if (i % 4 === 0) {
        const scalar = atOffset(randomBytes(32), 1), point = atOffset(randomBytes(32), 3);
        assert.equal(hex(noble.x25519(scalar, point)), hex(node.x25519(scalar, point)), ctx);
        assert.equal(hex(noble.x25519Public(scalar)), hex(node.x25519Public(scalar)), ctx);
        const seed = atOffset(randomBytes(32), 5);
        const pub = noble.ed25519Public(seed);
        assert.equal(hex(pub), hex(node.ed25519Public(seed)), ctx);
        const msg = data.subarray(0, Math.min(len, 2000));
        const sig = noble.ed25519Sign(seed, msg);
        assert.equal(hex(sig), hex(node.ed25519Sign(seed, msg)), ctx);
        assert.equal(noble.ed25519Verify(pub, msg, sig), true, ctx);
        assert.equal(node.ed25519Verify(atOffset(pub), msg, atOffset(sig)), true, ctx);
        const bad = sig.slice();
        bad[randomInt(0, 64)] ^= 1 << randomInt(0, 8);
        assert.equal(noble.ed25519Verify(pub, msg, bad), false, ctx);
        assert.equal(node.ed25519Verify(pub, msg, bad), false, ctx);
      }
    }
  });

  eachProvider('randomBytes fills the buffer', (p) => {
    const b = atOffset(new Uint8Array(64), 3);
    p.randomBytes(b);
    assert.ok(b.some((x) => x !== 0));
    assert.equal(b.buffer.byteLength >= 72 && new Uint8Array(b.buffer)[2], 0xa5); // bytes before untouched
  });
});

it('the node host provider (libsodium Poly1305) matches noble and RFC 8439 2.5.2', async () => {
  const { loadNodeProvider } = await import('../hosts/node/crypto_node.js');
  const { createNobleProvider } = await import('../modules/crypto/noble.js');
  const { randomFillSync, randomBytes } = await import('node:crypto');
  const fast = await loadNodeProvider();
  const ref = createNobleProvider((o) => randomFillSync(o));
  const key = Buffer.from('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b', 'hex');
  const out = new Uint8Array(16);
  fast.poly1305(key, Buffer.from('Cryptographic Forum Research Group'), out);
  assert.equal(Buffer.from(out).toString('hex'), 'a8061dc1305136c6c22b8baf0c0127a9');
  for (const len of [0, 1, 15, 16, 17, 1000, 32768 + 13]) {
    const k = randomBytes(32), m = randomBytes(len + 3).subarray(3);
    const a = new Uint8Array(16), b = new Uint8Array(16);
    fast.poly1305(k, m, a);
    ref.poly1305(k, m, b);
    assert.deepEqual(a, b, `length ${len}`);
  }
});

it('the node host whole-packet chacha20-poly1305 (libsodium) matches the chacha20() + poly1305() path', async () => {
  const { loadNodeProvider } = await import('../hosts/node/crypto_node.js');
  const { createNobleProvider } = await import('../modules/crypto/noble.js');
  const { ChaChaPolyCipher } = await import('../modules/ssh/chachapoly.js');
  const { randomFillSync, randomBytes } = await import('node:crypto');
  const fast = await loadNodeProvider();
  assert.ok(fast.createChaChaPoly, 'the node host provider has createChaChaPoly');
  const ref = createNobleProvider((o) => randomFillSync(o));
  assert.equal(ref.createChaChaPoly, undefined, 'noble keeps the generic path');
  const key = randomBytes(64);
  const a = new ChaChaPolyCipher(fast, key), b = new ChaChaPolyCipher(ref, key);
  // Sequence numbers across byte boundaries and near 2^32; lengths from tiny to one packet beyond
  // the 64 KiB wasm buffer (it grows), at odd offsets.
  const cases: [number, number][] = [[0, 8], [1, 16], [255, 1000], [256, 32768 + 8], [0x01020304, 120000], [0xffffffff, 24]];
  for (const [seq, len] of cases) {
    const off = 3;
    const plainText = randomBytes(off + 4 + len + 16);
    plainText.writeUInt32BE(len, off);
    const p1 = new Uint8Array(plainText), p2 = new Uint8Array(plainText);
    a.seal(seq, p1, off, len);
    b.seal(seq, p2, off, len);
    assert.deepEqual(p1, p2, `seal seq ${seq} len ${len}`);
    assert.equal(a.decryptLength(seq, p1, off), len);
    const c1 = new Uint8Array(p1);
    assert.ok(a.open(seq, c1, off, len), `open seq ${seq} len ${len}`);
    assert.deepEqual(c1.subarray(off + 4, off + 4 + len), new Uint8Array(plainText).subarray(off + 4, off + 4 + len));
    // A wrong sequence number or one flipped bit anywhere (length, body, tag) fails and leaves buf unchanged.
    for (const pos of [off, off + 4, off + 4 + len - 1, off + 4 + len + 15]) {
      const t = new Uint8Array(p1);
      t[pos] ^= 1;
      const before = new Uint8Array(t);
      assert.equal(a.open(seq, t, off, len), false, `tampered byte ${pos - off}`);
      assert.deepEqual(t, before);
    }
    assert.equal(a.open((seq + 1) >>> 0, new Uint8Array(p1), off, len), false);
  }
  a.dispose();
  b.dispose();
});

describe('the packet crypto addon (node+openssl) against the generic chacha20() + poly1305() path', () => {
  it('chacha20-poly1305@openssh.com: seal, decryptLength, open; tampering fails with buf unchanged', async () => {
    const { ChaChaPolyCipher } = await import('../modules/ssh/chachapoly.js');
    const key = randomBytes(64);
    const a = new ChaChaPolyCipher(native, key), b = new ChaChaPolyCipher(noble, key), c = new ChaChaPolyCipher(node, key);
    // Sequence numbers across byte boundaries and near 2^32; lengths 0 to more than three 32 KiB
    // packets, at offset 0 and odd offsets.
    const cases: [number, number, number][] = [
      [0, 0, 0], [1, 1, 3], [255, 16, 0], [256, 1000, 5], [0x01020304, 32768, 3], [7, 32768 + 13, 1], [0xfffffffe, 120000, 0], [0xffffffff, 24, 2],
    ];
    for (const [seq, len, off] of cases) {
      const ctx = `seq ${seq} len ${len} off ${off}`;
      const plainText = randomBytes(off + 4 + len + 16 + 3);
      new DataView(plainText.buffer, plainText.byteOffset).setUint32(off, len);
      const p1 = plainText.slice(), p2 = plainText.slice(), p3 = plainText.slice();
      a.seal(seq, p1, off, len);
      b.seal(seq, p2, off, len);
      c.seal(seq, p3, off, len);
      assert.equal(hex(p1), hex(p2), `seal ${ctx} (noble)`);
      assert.equal(hex(p1), hex(p3), `seal ${ctx} (node)`);
      assert.equal(hex(p1.subarray(off + 4 + len + 16)), hex(plainText.subarray(off + 4 + len + 16)), `bytes after the tag untouched, ${ctx}`);
      assert.equal(a.decryptLength(seq, p1, off), len, ctx);
      assert.equal(b.decryptLength(seq, p1, off), len, ctx);
      const sealed = p1.slice();
      assert.equal(a.open(seq, p1, off, len), true, `open ${ctx}`);
      assert.equal(hex(p1.subarray(off + 4, off + 4 + len)), hex(plainText.subarray(off + 4, off + 4 + len)), ctx);
      assert.equal(b.open(seq, p2, off, len), true, `noble opens ${ctx}`);
      // A wrong sequence number or one flipped bit anywhere (length, body, tag) fails and leaves buf unchanged.
      for (const pos of [off, off + 3, off + 4, off + 4 + len - 1, off + 4 + len, off + 4 + len + 15]) {
        const t = sealed.slice();
        t[pos] ^= 1 << (pos % 8);
        const before = t.slice();
        assert.equal(a.open(seq, t, off, len), false, `tampered byte ${pos - off}, ${ctx}`);
        assert.deepEqual(t, before, `unchanged after a bad tag, ${ctx}`);
      }
      const t = sealed.slice();
      assert.equal(a.open((seq + 1) >>> 0, t, off, len), false, `wrong seq, ${ctx}`);
      assert.deepEqual(t, sealed);
    }
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('arguments are checked: short buffers, bad offsets, disposed keys throw instead of touching memory', () => {
    const k = native.createChaChaPoly!(randomBytes(64));
    const buf = new Uint8Array(64);
    assert.throws(() => k.seal(0, buf, 0, 45), RangeError);
    assert.throws(() => k.seal(0, buf, 1, 44), RangeError);
    k.seal(0, buf, 0, 44);
    assert.throws(() => k.open(0, buf, -1, 10), RangeError);
    assert.throws(() => k.open(0, buf, 0.5, 10), RangeError);
    assert.throws(() => k.decryptLength(0, buf, 61), RangeError);
    assert.throws(() => k.decryptLength(2 ** 32, buf, 0), RangeError);
    assert.throws(() => k.seal(0, new Uint16Array(64) as unknown as Uint8Array, 0, 8), TypeError);
    assert.throws(() => native.createChaChaPoly!(randomBytes(32)), RangeError);
    k.dispose();
    assert.throws(() => k.seal(0, buf, 0, 8), /disposed/);
    const g = native.createAesGcm!(randomBytes(16));
    assert.throws(() => g.seal(new Uint8Array(12), buf, 0, 45), RangeError);
    assert.throws(() => g.seal(new Uint8Array(16), buf, 0, 16), RangeError);
    assert.throws(() => native.createAesGcm!(randomBytes(24)), RangeError);
    const s = native.createAesCtr!(randomBytes(16), new Uint8Array(16));
    assert.throws(() => s.process(buf, 60, 5), RangeError);
    const m = native.createHmac!('sha256', randomBytes(20));
    assert.equal(m.size, 32);
    assert.throws(() => m.mac(0, buf, 0, 10, new Uint8Array(40), 9), RangeError);
    assert.throws(() => native.createHmac!('sha1' as 'sha256', randomBytes(20)), RangeError);
  });

  it('AES-GCM, AES-CTR and HMAC agree with node:crypto at lengths 0 to 32 KiB+, in place at odd offsets', () => {
    for (const len of [0, 1, 15, 16, 17, 1000, 32768, 32768 + 16 * 7]) {
      const ctx = `len ${len}`;
      // GCM: the SSH layout allows any length here (the cipher uses multiples of 16).
      for (const keyLen of [16, 32]) {
        const key = randomBytes(keyLen), iv = randomBytes(12), off = len % 7;
        const plainText = randomBytes(off + 4 + len + 16 + 2);
        const x = plainText.slice(), y = plainText.slice();
        native.createAesGcm!(key).seal(iv, x, off, len);
        node.createAesGcm!(key).seal(iv, y, off, len);
        assert.equal(hex(x), hex(y), `gcm seal ${keyLen} ${ctx}`);
        const k = native.createAesGcm!(key);
        const bad = x.slice();
        bad[off + 4 + len + (len % 16)] ^= 0x80;
        const before = bad.slice();
        assert.equal(k.open(iv, bad, off, len), false, `gcm bad tag ${ctx}`);
        assert.deepEqual(bad, before, `gcm buffer unchanged after a bad tag, ${ctx}`);
        assert.equal(k.open(iv, x, off, len), true, `gcm open ${ctx}`);
        assert.equal(hex(x.subarray(0, off + 4 + len)), hex(plainText.subarray(0, off + 4 + len)), `gcm round trip ${ctx}`);
        k.dispose();
      }
      for (const keyLen of [16, 24, 32]) {
        const key = randomBytes(keyLen), iv = randomBytes(16), data = randomBytes(len + 5);
        const x = data.slice(), y = data.slice();
        const a = native.createAesCtr!(key, iv), b = node.createAesCtr!(key, iv);
        // Two calls each: the stream continues across calls and partial blocks.
        const cut = len >> 1;
        a.process(x, 3, cut); a.process(x, 3 + cut, len - cut);
        b.process(y, 3, len);
        assert.equal(hex(x), hex(y), `ctr ${keyLen} ${ctx}`);
      }
      for (const hash of ['sha256', 'sha512'] as const) {
        for (const keyLen of [0, 32, 64, 129, 200]) {
          const key = randomBytes(keyLen), data = randomBytes(len + 9), seq = randomInt(0, 2 ** 32 - 1);
          const a = new Uint8Array(70), b = new Uint8Array(70);
          native.createHmac!(hash, key).mac(seq, data, 9, len, a, 6);
          node.createHmac!(hash, key).mac(seq, data, 9, len, b, 6);
          assert.equal(hex(a), hex(b), `hmac ${hash} key ${keyLen} ${ctx}`);
        }
      }
    }
  });
});

it('without a C compiler the node host falls back to node:crypto + libsodium with one log line', async () => {
  const { execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const script = "const m = await import('./hosts/node/server.ts'); const p = await m.loadCrypto('node', (l) => console.log('LOG ' + l)); console.log('NAME ' + p.name);";
  // A different compiler changes the addon's build hash, so this really tries (and fails) to build.
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CC: '/nonexistent/cc' },
  });
  const logs = out.split('\n').filter((l) => l.startsWith('LOG '));
  assert.equal(logs.length, 1, out);
  assert.match(logs[0], /packet crypto: native addon not available \(cannot build the packet crypto addon: no C compiler \(\/nonexistent\/cc\) found\); using node:crypto \+ libsodium WebAssembly/);
  assert.match(out, /^NAME node$/m);
  const normal = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.doesNotMatch(normal, /^LOG /m);
  assert.match(normal, /^NAME node\+openssl$/m);
});
