// Published test vectors for the crypto provider primitives (FIPS 180-4, RFC 7748, RFC 8032,
// RFC 8439), shared by test/crypto.test.ts (node) and the XS test entries (test/xs/): platform-free,
// no node imports, so they bundle for XS as they are.

/** Bytes of a hex string (whitespace and colons ignored). For short strings only under XS: XS
 * strings are UTF-8, so each slice scans from the start (quadratic over long strings). */
export function h(s: string): Uint8Array {
  const t = s.replace(/[\s:]/g, '');
  const out = new Uint8Array(t.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const HEX_BYTE: string[] = [];
for (let i = 0; i < 256; i++) HEX_BYTE.push((i < 16 ? '0' : '') + i.toString(16));

/** Lower-case hex of bytes. Pushed and joined once: XS copies the string on every +=, which makes
 * a loop of += quadratic, and fills a `new Array(n)` slowly. */
export function hex(u: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < u.length; i++) parts.push(HEX_BYTE[u[i]]);
  return parts.join('');
}

/** Bytes of a Latin-1 string. */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

// ---------------------------------------------------------------------------------------------
// SHA-2 (FIPS 180-4 examples)

export const SHA_448_BIT_MESSAGE = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq';
export const SHA256_VECTORS = [
  { msg: 'abc', digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
  { msg: '', digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  { msg: SHA_448_BIT_MESSAGE, digest: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1' },
];
export const SHA512_VECTORS = [
  { msg: 'abc', digest: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f' },
  { msg: '', digest: 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e' },
  { msg: SHA_448_BIT_MESSAGE, digest: '204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445' },
];

// ---------------------------------------------------------------------------------------------
// X25519 (RFC 7748)

/** Section 5.2 single-iteration vectors; the second point has its top bit set (must be masked). */
export const X25519_VECTORS = [
  { scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    point: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552' },
  { scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    point: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957' },
];
/** Section 5.2 iterated: k = u = 9, then k, u = x25519(k, u), k. */
export const X25519_ITERATED = {
  start: '0900000000000000000000000000000000000000000000000000000000000000',
  after1: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
  after1000: '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51',
};
/** Section 6.1 Diffie-Hellman. */
export const X25519_DH = {
  alice: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePub: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bob: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPub: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  shared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
};
/** Low-order u-coordinates: x25519 with any of them must throw (all-zero result). */
export const X25519_LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0
  '0100000000000000000000000000000000000000000000000000000000000000', // 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (= 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (= 1)
  '0000000000000000000000000000000000000000000000000000000000000080', // 0 with the top bit set
];

// ---------------------------------------------------------------------------------------------
// Ed25519 (RFC 8032 section 7.1)

export const ED25519_VECTORS = [
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
/** Small-order and non-canonical public keys: verification must refuse them, never throw. */
export const ED25519_SMALL_ORDER_KEYS = [
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
/** R = identity, S = 0: valid under the identity key for any message with cofactorless checks. */
export const ED25519_IDENTITY_SIGNATURE = '01' + '00'.repeat(63);

// ---------------------------------------------------------------------------------------------
// ChaCha20 with the original layout (64-bit counter, 8-byte nonce)
//
// Mapping the RFC 8439 (IETF) vectors: the IETF state is words 12 = 32-bit counter, 13..15 = 96-bit
// nonce. When the first 4 nonce bytes are zero, word 13 is 0, so the state equals the original
// layout with the 64-bit counter (words 12-13) = the IETF counter and the 8-byte nonce (words 14-15)
// = the last 8 IETF nonce bytes. E.g. IETF counter 1 with nonce 00000000 0000004a 00000000 is
// counter 1 with nonce 0000004a00000000 here.

/** RFC 8439 2.4.2. */
export const CHACHA_SUNSCREEN = {
  key: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  nonce: '0000004a00000000',
  counter: 1,
  plain: "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  cipher:
    '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
    '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d',
};
/** RFC 8439 A.1 key streams (64 bytes each). */
export const CHACHA_KEYSTREAMS = [
  { n: 1, key: '00'.repeat(32), nonce: '0000000000000000', counter: 0,
    ks: '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586' },
  { n: 2, key: '00'.repeat(32), nonce: '0000000000000000', counter: 1,
    ks: '9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f' },
  { n: 3, key: '00'.repeat(31) + '01', nonce: '0000000000000000', counter: 1,
    ks: '3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0' },
  { n: 4, key: '00ff' + '00'.repeat(30), nonce: '0000000000000000', counter: 2,
    ks: '72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096' },
  // IETF nonce 000000000000000000000002 -> 8-byte nonce 0000000000000002.
  { n: 5, key: '00'.repeat(32), nonce: '0000000000000002', counter: 0,
    ks: 'c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c78a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d' },
];

// ---------------------------------------------------------------------------------------------
// Poly1305 (RFC 8439 2.5.2 and A.3)

const IETF_TEXT = ('Any submission to the IETF intended by the Contributor for publication as all or part of an IETF ' +
  'Internet-Draft or RFC and any statement made within the context of an IETF activity is considered an "IETF Contribution". ' +
  'Such statements include oral statements in IETF sessions, as well as written and electronic communications made at any ' +
  'time or place, which are addressed to');

/** Messages are bytes (built with h/ascii at load time). */
export const POLY1305_VECTORS = [
  { name: '2.5.2', key: '85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b',
    msg: ascii('Cryptographic Forum Research Group'), tag: 'a8061dc1305136c6c22b8baf0c0127a9' },
  { name: 'A.3 #1', key: '00'.repeat(32), msg: new Uint8Array(64), tag: '00'.repeat(16) },
  { name: 'A.3 #2', key: '00'.repeat(16) + '36e5f6b5c5e06070f0efca96227a863e', msg: ascii(IETF_TEXT), tag: '36e5f6b5c5e06070f0efca96227a863e' },
  { name: 'A.3 #3', key: '36e5f6b5c5e06070f0efca96227a863e' + '00'.repeat(16), msg: ascii(IETF_TEXT), tag: 'f3477e7cd95417af89a6b8794c310cf0' },
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
