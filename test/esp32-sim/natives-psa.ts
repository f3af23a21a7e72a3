// The board's PSA and ML-KEM host functions as native() binds them (modules/crypto/native_psa.c,
// native_mlkem.c), done here with node:crypto (OpenSSL) and @noble/post-quantum, with those C files'
// argument checks, messages and results: key objects are opaque objects (dispose() forgets them),
// GCM opens in place and leaves a refused packet unchanged, verification never throws, RSA keys
// cross as DER. The firmware's vectors run through the real C on xsrun and QEMU
// (test/xs/crypto-algs-entry.ts); this stand-in lets the ESP32 host's TypeScript run on node.

import * as nodeCrypto from "node:crypto";
import { arg, exact, integer, out } from "./native-args.js";

type HostFunction = (...args: unknown[]) => unknown;

function region(args: unknown[], i: number, off: number, need: number, what: string): Uint8Array {
  const b = arg(args, i);
  if (off > b.length || need > b.length - off) throw new RangeError(`${what}: ${need} bytes at ${off} do not fit in ${b.length}`);
  return b.subarray(off, off + need);
}

/** Key objects: opaque, one class per kind, state null once disposed. */
class HmacKey { constructor(public hash: string | null, public key: Buffer) {} }
class GcmKey { constructor(public key: Buffer | null) {} }
class CtrStream { constructor(public cipher: nodeCrypto.Cipher | null) {} }
function own<T>(value: unknown, kind: new (...a: never[]) => T): T {
  if (!(value instanceof kind)) throw new SyntaxError("C: xsGetHostData: invalid");
  return value as T;
}

const CURVES: Record<number, { name: string; jwk: string; bytes: number; hash: string }> = {
  256: { name: "prime256v1", jwk: "P-256", bytes: 32, hash: "sha256" },
  384: { name: "secp384r1", jwk: "P-384", bytes: 48, hash: "sha384" },
  521: { name: "secp521r1", jwk: "P-521", bytes: 66, hash: "sha512" },
};
function curve(args: unknown[], what: string) {
  const bits = integer(args, 0, 521, `${what}: curve`);
  const c = CURVES[bits];
  if (!c) throw new RangeError(`ec: no curve P-${bits}`);
  return c;
}
const b64 = (u: Uint8Array) => Buffer.from(u).toString("base64url");
function publicJwk(c: { jwk: string; bytes: number }, point: Uint8Array): nodeCrypto.KeyObject {
  if (point.length !== 1 + 2 * c.bytes || point[0] !== 4) throw new Error("not an uncompressed point");
  return nodeCrypto.createPublicKey({ key: { kty: "EC", crv: c.jwk, x: b64(point.subarray(1, 1 + c.bytes)), y: b64(point.subarray(1 + c.bytes)) }, format: "jwk" });
}
function privateKey(c: { name: string; jwk: string; bytes: number }, scalar: Uint8Array): nodeCrypto.KeyObject {
  const ecdh = nodeCrypto.createECDH(c.name);
  ecdh.setPrivateKey(Buffer.from(scalar)); // throws for 0 and >= n
  const point = ecdh.getPublicKey();
  return nodeCrypto.createPrivateKey({
    key: { kty: "EC", crv: c.jwk, d: b64(scalar), x: b64(point.subarray(1, 1 + c.bytes)), y: b64(point.subarray(1 + c.bytes)) },
    format: "jwk",
  });
}
const hashOf = (bits: number) => (bits === 256 ? "sha256" : bits === 512 ? "sha512" : undefined);
/** PSA's RSA limit (PSA_VENDOR_RSA_MAX_KEY_BITS). */
const RSA_MAX_BYTES = 512;

let mlkem: { encapsulate(publicKey: Uint8Array, m?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array } } | undefined;

/** Loads what the stand-ins need beyond node: @noble/post-quantum's ML-KEM-768, when installed
 * (a dependency of the noble provider); without it the ML-KEM function throws when called. */
export async function loadPsaNatives(): Promise<void> {
  const name = "@noble/post-quantum/ml-kem.js";
  try {
    const m = (await import(name)) as { ml_kem768: NonNullable<typeof mlkem> };
    mlkem = m.ml_kem768;
  } catch {
    mlkem = undefined;
  }
}

export const psaFunctions: Record<string, HostFunction> = {
  xs_native_psa_features: () => 0x1fff,
  xs_native_psa_heap: () => undefined,
  xs_native_psa_sha384(...a) {
    const o = out(a, 1, 48, "sha384: out");
    o.set(nodeCrypto.createHash("sha384").update(arg(a, 0)).digest());
  },
  xs_native_psa_hmac_key(...a) {
    const bits = integer(a, 0, 512, "hmac: hash");
    if (bits !== 256 && bits !== 512) throw new RangeError("hmac: hash must be SHA-256 or SHA-512");
    return new HmacKey(bits === 256 ? "sha256" : "sha512", Buffer.from(arg(a, 1)));
  },
  xs_native_psa_hmac_mac(...a) {
    if (a.length < 7) throw new TypeError("hmac: 7 arguments expected");
    const seq = integer(a, 1, 0xffffffff, "hmac: sequence number");
    const off = integer(a, 3, 0x7fffffff, "hmac: offset"), len = integer(a, 4, 0x7fffffff, "hmac: length");
    const outOff = integer(a, 6, 0x7fffffff, "hmac: output offset");
    const k = own(a[0], HmacKey);
    if (!k.hash) throw new TypeError("hmac: the key was disposed");
    const data = region(a, 2, off, len, "hmac: data");
    const o = region(a, 5, outOff, k.hash === "sha256" ? 32 : 64, "hmac: out");
    const s = Buffer.alloc(4);
    s.writeUInt32BE(seq);
    o.set(nodeCrypto.createHmac(k.hash, k.key).update(s).update(data).digest());
  },
  xs_native_psa_hmac_dispose(...a) {
    own(a[0], HmacKey).hash = null;
  },
  xs_native_psa_gcm_key(...a) {
    const key = arg(a, 0);
    if (key.length !== 16 && key.length !== 32) throw new RangeError("aes-gcm: key must be 16 or 32 bytes");
    return new GcmKey(Buffer.from(key));
  },
  xs_native_psa_gcm_seal(...a) {
    const { key, iv, aad, text, tag } = gcmArgs(a);
    const c = nodeCrypto.createCipheriv(`aes-${key.length * 8}-gcm` as nodeCrypto.CipherGCMTypes, key, iv);
    c.setAAD(aad);
    text.set(Buffer.concat([c.update(text), c.final()]));
    tag.set(c.getAuthTag());
  },
  xs_native_psa_gcm_open(...a) {
    const { key, iv, aad, text, tag } = gcmArgs(a);
    const d = nodeCrypto.createDecipheriv(`aes-${key.length * 8}-gcm` as nodeCrypto.CipherGCMTypes, key, iv);
    d.setAAD(aad);
    d.setAuthTag(Buffer.from(tag));
    try {
      const plain = Buffer.concat([d.update(text), d.final()]);
      text.set(plain);
      return true;
    } catch {
      return false;
    }
  },
  xs_native_psa_gcm_dispose(...a) {
    own(a[0], GcmKey).key = null;
  },
  xs_native_psa_ctr_stream(...a) {
    const key = arg(a, 0);
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new RangeError("aes-ctr: key must be 16, 24 or 32 bytes");
    const iv = exact(a, 1, 16, "aes-ctr: iv");
    return new CtrStream(nodeCrypto.createCipheriv(`aes-${key.length * 8}-ctr`, key, iv));
  },
  xs_native_psa_ctr_process(...a) {
    if (a.length < 4) throw new TypeError("aes-ctr: 4 arguments expected");
    const off = integer(a, 2, 0x7fffffff, "aes-ctr: offset"), len = integer(a, 3, 0x7fffffff, "aes-ctr: length");
    const s = own(a[0], CtrStream);
    if (!s.cipher) throw new TypeError("aes-ctr: the key was disposed");
    const data = region(a, 1, off, len, "aes-ctr: data");
    data.set(s.cipher.update(data));
  },
  xs_native_psa_ctr_dispose(...a) {
    own(a[0], CtrStream).cipher = null;
  },
  xs_native_psa_ec_generate(...a) {
    const c = curve(a, "ec");
    const po = out(a, 1, c.bytes, "ec: private key"), qo = out(a, 2, 1 + 2 * c.bytes, "ec: public key");
    const ecdh = nodeCrypto.createECDH(c.name);
    ecdh.generateKeys();
    const d = ecdh.getPrivateKey(); // without leading zero bytes
    po.fill(0, 0, c.bytes - d.length);
    po.set(d, c.bytes - d.length);
    qo.set(ecdh.getPublicKey());
  },
  xs_native_psa_ec_public(...a) {
    const c = curve(a, "ec");
    const qo = out(a, 2, 1 + 2 * c.bytes, "ec: public key");
    const d = arg(a, 1);
    if (d.length !== c.bytes) return false;
    try {
      const ecdh = nodeCrypto.createECDH(c.name);
      ecdh.setPrivateKey(Buffer.from(d));
      qo.set(ecdh.getPublicKey());
      return true;
    } catch {
      return false;
    }
  },
  xs_native_psa_ecdh(...a) {
    const c = curve(a, "ecdh");
    const o = out(a, 3, c.bytes, "ecdh: out");
    const d = arg(a, 1), peer = arg(a, 2);
    if (d.length !== c.bytes) throw new RangeError(`ecdh: private key must be ${c.bytes} bytes`);
    const ecdh = nodeCrypto.createECDH(c.name);
    try {
      ecdh.setPrivateKey(Buffer.from(d));
    } catch {
      throw new RangeError("ecdh: invalid private key");
    }
    if (peer.length !== 1 + 2 * c.bytes || peer[0] !== 4) return false;
    try {
      o.set(ecdh.computeSecret(Buffer.from(peer)));
      return true;
    } catch {
      return false;
    }
  },
  xs_native_psa_ecdsa_sign(...a) {
    const c = curve(a, "ecdsa");
    const so = out(a, 3, 2 * c.bytes, "ecdsa: signature");
    const d = arg(a, 1), message = arg(a, 2);
    if (d.length !== c.bytes) throw new RangeError(`ecdsa: private key must be ${c.bytes} bytes`);
    let key: nodeCrypto.KeyObject;
    try {
      key = privateKey(c, d);
    } catch {
      throw new RangeError("ecdsa: invalid private key");
    }
    so.set(nodeCrypto.sign(c.hash, message, { key, dsaEncoding: "ieee-p1363" }));
  },
  xs_native_psa_ecdsa_verify(...a) {
    const c = curve(a, "ecdsa");
    const q = arg(a, 1), message = arg(a, 2), signature = arg(a, 3);
    if (signature.length !== 2 * c.bytes) return false;
    try {
      return nodeCrypto.verify(c.hash, message, { key: publicJwk(c, q), dsaEncoding: "ieee-p1363" }, signature);
    } catch {
      return false;
    }
  },
  xs_native_psa_rsa_sign(...a) {
    const bits = integer(a, 0, 512, "rsa: hash");
    const hash = hashOf(bits);
    if (!hash) throw new RangeError("rsa: hash must be SHA-256 or SHA-512");
    const o = arg(a, 3), der = arg(a, 1), message = arg(a, 2);
    let key: nodeCrypto.KeyObject;
    try {
      key = nodeCrypto.createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs1" });
    } catch {
      throw new RangeError("rsa: invalid private key");
    }
    const sig = nodeCrypto.sign(hash, message, key);
    if (sig.length > o.length) throw new RangeError(`rsa: signature needs ${sig.length} bytes`);
    o.set(sig);
    return sig.length;
  },
  xs_native_psa_rsa_verify(...a) {
    const bits = integer(a, 0, 512, "rsa: hash");
    const hash = hashOf(bits);
    if (!hash) throw new RangeError("rsa: hash must be SHA-256 or SHA-512");
    const der = arg(a, 1), message = arg(a, 2), signature = arg(a, 3);
    if (signature.length > RSA_MAX_BYTES) return false;
    try {
      const key = nodeCrypto.createPublicKey({ key: Buffer.from(der), format: "der", type: "pkcs1" });
      if (((key.asymmetricKeyDetails?.modulusLength ?? 0) + 7) >> 3 !== signature.length) return false;
      return nodeCrypto.verify(hash, message, key, signature);
    } catch {
      return false;
    }
  },
  xs_native_psa_rsa_generate(...a) {
    const bits = integer(a, 0, 8 * RSA_MAX_BYTES, "rsa: bits");
    if (bits < 1024 || bits % 2) throw new RangeError(`rsa: cannot make a ${bits}-bit key`);
    const o = arg(a, 1);
    const { privateKey: key } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: bits, publicExponent: 65537 });
    const der = key.export({ format: "der", type: "pkcs1" });
    if (der.length > o.length) throw new RangeError(`rsa: key needs ${der.length} bytes`);
    o.set(der);
    return der.length;
  },
  xs_native_mlkem768_encapsulate(...a) {
    if (a.length < 4) throw new TypeError("mlkem768: 4 arguments expected");
    const ct = out(a, 2, 1088, "mlkem768: ciphertext"), ss = out(a, 3, 32, "mlkem768: shared secret");
    const ek = exact(a, 0, 1184, "mlkem768: public key");
    const m = a[1] === undefined ? undefined : exact(a, 1, 32, "mlkem768: randomness");
    if (!mlkem) throw new Error("esp32-sim: ML-KEM needs @noble/post-quantum (npm install)");
    let r: { cipherText: Uint8Array; sharedSecret: Uint8Array };
    try {
      r = mlkem.encapsulate(Uint8Array.from(ek), m && Uint8Array.from(m));
    } catch {
      return false;
    }
    ct.set(r.cipherText);
    ss.set(r.sharedSecret);
    return true;
  },
};

function gcmArgs(a: unknown[]) {
  if (a.length < 6) throw new TypeError("aes-gcm: 6 arguments expected");
  const off = integer(a, 3, 0x7fffffff, "aes-gcm: offset");
  const aadLength = integer(a, 4, 65536, "aes-gcm: additional data length");
  const length = integer(a, 5, 0x7fffffff, "aes-gcm: length");
  const k = own(a[0], GcmKey);
  if (!k.key) throw new TypeError("aes-gcm: the key was disposed");
  const iv = exact(a, 1, 12, "aes-gcm: iv");
  const packet = region(a, 2, off, aadLength + length + 16, "aes-gcm: packet");
  return { key: k.key, iv, aad: packet.subarray(0, aadLength), text: packet.subarray(aadLength, aadLength + length), tag: packet.subarray(aadLength + length) };
}
