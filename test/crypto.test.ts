// Known-answer tests for every CryptoProvider primitive, run through both the noble provider
// (modules/crypto/noble.ts, the reference that also runs under XS) and the node provider
// (hosts/node/crypto_node.ts), plus a randomized cross-check that the two agree byte for byte.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync, randomInt } from 'node:crypto';
import type { CryptoProvider } from '../modules/crypto/provider.js';
import { createNobleProvider } from '../modules/crypto/noble.js';
import { createNodeProvider } from '../hosts/node/crypto_node.js';

const providers: CryptoProvider[] = [createNobleProvider((out) => randomFillSync(out)), createNodeProvider()];
const [noble, node] = providers;

const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'));
const hex = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.length).toString('hex');
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
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
  const m448 = ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
  eachProvider('sha256', (p) => {
    assert.equal(hex(p.sha256(ascii('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hex(p.sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(hex(p.sha256(m448)), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    assert.equal(hex(p.sha256(atOffset(m448))), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    const d = p.sha256(ascii('abc'));
    assert.equal(d.length, 32);
    assert.equal(Object.getPrototypeOf(d), Uint8Array.prototype);
  });
  eachProvider('sha512', (p) => {
    assert.equal(hex(p.sha512(ascii('abc'))),
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f');
    assert.equal(hex(p.sha512(new Uint8Array(0))),
      'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e');
    assert.equal(hex(p.sha512(m448)),
      '204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445');
    assert.equal(p.sha512(ascii('abc')).length, 64);
  });
});

// ---------------------------------------------------------------------------------------------
describe('X25519 (RFC 7748)', () => {
  eachProvider('section 5.2 single-iteration vectors', (p) => {
    assert.equal(hex(p.x25519(
      h('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
      h('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'))),
    'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
    // The u-coordinate has its top bit set: implementations must mask it.
    assert.equal(hex(p.x25519(
      atOffset(h('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d')),
      atOffset(h('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493')))),
    '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957');
  });

  eachProvider('section 5.2 iterated: 1 and 1000 iterations', (p) => {
    let k = h('0900000000000000000000000000000000000000000000000000000000000000');
    let u = k;
    for (let i = 1; i <= 1000; i++) {
      const next = p.x25519(k, u);
      u = k;
      k = next;
      if (i === 1) assert.equal(hex(k), '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
    }
    assert.equal(hex(k), '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
  });

  eachProvider('section 6.1 Diffie-Hellman', (p) => {
    const alice = h('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = h('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alicePub = p.x25519Public(alice);
    const bobPub = p.x25519Public(bob);
    assert.equal(hex(alicePub), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    assert.equal(hex(bobPub), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    assert.equal(hex(p.x25519(alice, bobPub)), shared);
    assert.equal(hex(p.x25519(bob, alicePub)), shared);
  });

  // Behaviour choice shared by both providers: a low-order point (all-zero result, RFC 7748 6.1,
  // RFC 8731 3) throws Error('x25519: low-order point') instead of returning 32 zero bytes.
  eachProvider('low-order points throw', (p) => {
    const scalar = h('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000', // 0
      '0100000000000000000000000000000000000000000000000000000000000000', // 1
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (= 0)
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (= 1)
      '0000000000000000000000000000000000000000000000000000000000000080', // 0 with the top bit set
    ];
    for (const u of lowOrder) assert.throws(() => p.x25519(scalar, h(u)), /x25519: low-order point/, u);
  });
});

// ---------------------------------------------------------------------------------------------
describe('Ed25519 (RFC 8032 section 7.1)', () => {
  const vectors = [
    {
      name: 'TEST 1',
      seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      msg: '',
      sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      name: 'TEST 2',
      seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      msg: '72',
      sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
    {
      name: 'TEST 3',
      seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      pub: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
      msg: 'af82',
      sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    },
    {
      name: 'TEST 1024',
      seed: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
      pub: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
      msg:
        '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8' +
        '79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc' +
        '1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e' +
        '06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7' +
        'aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2' +
        'd17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270' +
        '88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07' +
        '07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a' +
        'ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7' +
        '51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8' +
        'ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08' +
        'd78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4' +
        '88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e' +
        '6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5' +
        '0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d' +
        'b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0',
      sig: '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
    },
  ];

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
    const identitySig = h('01' + '00'.repeat(63)); // R = identity, S = 0: cofactorless-valid under the identity key
    const smallOrder = [
      '0100000000000000000000000000000000000000000000000000000000000000',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
      '0000000000000000000000000000000000000000000000000000000000000080',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
      '0000000000000000000000000000000000000000000000000000000000000000',
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1, non-canonical 1
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // y >= p
    ];
    for (const k of smallOrder) {
      assert.equal(p.ed25519Verify(h(k), msg, identitySig), false, k);
      assert.equal(p.ed25519Verify(h(k), msg, randomBytes(64)), false, k);
    }
    // Garbage never throws.
    for (let i = 0; i < 20; i++) assert.equal(p.ed25519Verify(randomBytes(32), msg, randomBytes(64)), false);
  });
});

// ---------------------------------------------------------------------------------------------
describe('ChaCha20, original 64-bit counter / 64-bit nonce layout', () => {
  // Mapping the RFC 8439 (IETF) vectors: the IETF state is words 12 = 32-bit counter, 13..15 = 96-bit
  // nonce. When the first 4 nonce bytes are zero, word 13 is 0, so the state equals the original
  // layout with the 64-bit counter (words 12-13) = the IETF counter and the 8-byte nonce (words 14-15)
  // = the last 8 IETF nonce bytes. E.g. IETF counter 1 with nonce 00000000 0000004a 00000000 is
  // counter 1 with nonce 0000004a00000000 here.
  const key2 = h('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const sunscreen = ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const sunscreenCt =
    '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
    '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d';

  eachProvider('RFC 8439 2.4.2 encryption', (p) => {
    const out = new Uint8Array(sunscreen.length);
    p.chacha20(key2, h('0000004a00000000'), 1, sunscreen, out);
    assert.equal(hex(out), sunscreenCt);
    // Decrypt in place, at odd offsets.
    const buf = atOffset(out, 5);
    p.chacha20(atOffset(key2, 1), atOffset(h('0000004a00000000'), 7), 1, buf, buf);
    assert.deepEqual(buf, sunscreen);
  });

  const zeros32 = new Uint8Array(32);
  const a1 = [
    { n: 1, key: zeros32, nonce: '0000000000000000', counter: 0,
      ks: '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586' },
    { n: 2, key: zeros32, nonce: '0000000000000000', counter: 1,
      ks: '9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f' },
    { n: 3, key: h('00'.repeat(31) + '01'), nonce: '0000000000000000', counter: 1,
      ks: '3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0' },
    { n: 4, key: h('00ff' + '00'.repeat(30)), nonce: '0000000000000000', counter: 2,
      ks: '72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096' },
    // IETF nonce 000000000000000000000002 -> 8-byte nonce 0000000000000002.
    { n: 5, key: zeros32, nonce: '0000000000000002', counter: 0,
      ks: 'c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c78a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d' },
  ];
  for (const v of a1) {
    eachProvider(`RFC 8439 A.1 keystream #${v.n}`, (p) => {
      const out = new Uint8Array(64);
      p.chacha20(v.key, h(v.nonce), v.counter, new Uint8Array(64), out);
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
  const ietf = ascii('Any submission to the IETF intended by the Contributor for publication as all or part of an IETF ' +
    'Internet-Draft or RFC and any statement made within the context of an IETF activity is considered an "IETF Contribution". ' +
    'Such statements include oral statements in IETF sessions, as well as written and electronic communications made at any ' +
    'time or place, which are addressed to');
  const vectors = [
    { name: '2.5.2', key: '85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b',
      msg: ascii('Cryptographic Forum Research Group'), tag: 'a8061dc1305136c6c22b8baf0c0127a9' },
    { name: 'A.3 #1', key: '00'.repeat(32), msg: new Uint8Array(64), tag: '00'.repeat(16) },
    { name: 'A.3 #2', key: '00'.repeat(16) + '36e5f6b5c5e06070f0efca96227a863e', msg: ietf, tag: '36e5f6b5c5e06070f0efca96227a863e' },
    { name: 'A.3 #3', key: '36e5f6b5c5e06070f0efca96227a863e' + '00'.repeat(16), msg: ietf, tag: 'f3477e7cd95417af89a6b8794c310cf0' },
    { name: 'A.3 #4', key: '1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0',
      msg: h('2754776173206272696c6c69672c20616e642074686520736c6974687920746f7665730a446964206779726520616e642067696d626c6520696e2074686520776162653a0a416c6c206d696d737920776572652074686520626f726f676f7665732c0a416e6420746865206d6f6d65207261746873206f757467726162652e'),
      tag: '4541669a7eaaee61e708dc7cbcc5eb62' },
    { name: 'A.3 #5', key: '02' + '00'.repeat(31), msg: h('ff'.repeat(16)), tag: '03' + '00'.repeat(15) },
    { name: 'A.3 #6', key: '02' + '00'.repeat(15) + 'ff'.repeat(16), msg: h('02' + '00'.repeat(15)), tag: '03' + '00'.repeat(15) },
    { name: 'A.3 #7', key: '01' + '00'.repeat(31),
      msg: h('ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15)), tag: '05' + '00'.repeat(15) },
    { name: 'A.3 #8', key: '01' + '00'.repeat(31),
      msg: h('ff'.repeat(16) + 'fb' + 'fe'.repeat(15) + '01'.repeat(16)), tag: '00'.repeat(16) },
    { name: 'A.3 #9', key: '02' + '00'.repeat(31), msg: h('fd' + 'ff'.repeat(15)), tag: 'fa' + 'ff'.repeat(15) },
    { name: 'A.3 #10', key: '01000000000000000400000000000000' + '00'.repeat(16),
      msg: h('e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000' + '01000000000000000000000000000000'),
      tag: '14000000000000005500000000000000' },
    { name: 'A.3 #11', key: '01000000000000000400000000000000' + '00'.repeat(16),
      msg: h('e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000' + '00000000000000000000000000000000'),
      tag: '13000000000000000000000000000000' },
  ];
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
