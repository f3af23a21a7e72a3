// The user-key signature table (RFC 4252 7, RFC 8332, RFC 5656 3.1.2, RFC 8709, OpenSSH
// PROTOCOL.u2f): one entry per signature algorithm name a client may put in a publickey request,
// each naming the key type it verifies, the provider features it needs, and its verification.
// verifySignature() is the one entry point: a key blob, the signed bytes and a signature blob in,
// a result out. Authentication uses it, and so can certificates (a CA's signature over a
// certificate is the same check).

import type { CryptoFeature, CryptoProvider } from "../crypto/provider.js";
import { MIN_RSA_BITS, curveInfo, keyBlobType, parsePublicKey, type PublicKey } from "./pubkey.js";
import { SshReader, SshWriter, WireError, asciiDecode } from "./wire.js";

/** FIDO authenticator flags in an sk-* signature (PROTOCOL.u2f, CTAP2 authenticator data). */
export const SK_USER_PRESENT = 0x01;
export const SK_USER_VERIFIED = 0x04;

export interface SignatureAlgorithm {
  /** The algorithm name in the request and at the start of the signature blob. */
  readonly name: string;
  /** The key type (in the key blob) this algorithm verifies. */
  readonly keyType: string;
  /** Provider features needed to verify. */
  readonly needs: readonly CryptoFeature[];
  /**
   * Verifies `sig` (the signature blob after its algorithm name) over `data` under `key`. Returns
   * false for an invalid signature; for sk-* algorithms the authenticator flags and counter too.
   */
  verify(crypto: CryptoProvider, key: PublicKey, data: Uint8Array, sig: SshReader): boolean | SkSignature;
}

/** What an sk-* signature says beside its validity. */
export interface SkSignature {
  flags: number;
  counter: number;
}

/** RSA with SHA-2 (RFC 8332 3): the signature as long as the modulus; shorter ones (leading zero
 * bytes dropped by some signers) are padded as OpenSSH does; longer ones fail. */
function rsaEntry(name: string, hashName: "sha256" | "sha512"): SignatureAlgorithm {
  // Consts for the method below to capture: xsl keeps a captured parameter (a mutable binding) in RAM
  // as an alias, a const in flash with the preloaded table.
  const hash = hashName;
  return Object.freeze({
    name,
    keyType: "ssh-rsa",
    needs: Object.freeze(["rsa"] as CryptoFeature[]),
    verify(crypto: CryptoProvider, key: PublicKey, data: Uint8Array, sig: SshReader): boolean {
      if (key.kind !== "rsa") return false;
      const s = sig.string();
      sig.done("rsa signature");
      let n = key.n;
      let i = 0;
      while (i < n.length && n[i] === 0) i++;
      n = n.subarray(i);
      if (s.length > n.length || s.length === 0) return false;
      let full = s;
      if (s.length < n.length) {
        full = new Uint8Array(n.length);
        full.set(s, n.length - s.length);
      }
      return crypto.rsaVerify!(hash, { n, e: key.e }, data, full);
    },
  });
}

/** The fixed-length r || s of an SSH ECDSA signature (RFC 5656 3.1.2: mpint r, mpint s), or null
 * when r or s is longer than the curve's scalars. */
function ecdsaRS(inner: Uint8Array, bytes: number): Uint8Array | null {
  const r = new SshReader(inner);
  const rv = r.mpint();
  const sv = r.mpint();
  r.done("ecdsa signature");
  if (rv.length > bytes || sv.length > bytes) return null;
  const out = new Uint8Array(2 * bytes);
  out.set(rv, bytes - rv.length);
  out.set(sv, 2 * bytes - sv.length);
  return out;
}

function ecdsaEntry(curveIndex: 0 | 1 | 2): SignatureAlgorithm {
  const curves = ["p256", "p384", "p521"] as const;
  const info = curveInfo(curves[curveIndex]);
  const needs: CryptoFeature[] = [`ecdsa-${info.curve}` as CryptoFeature];
  return Object.freeze({
    name: info.type,
    keyType: info.type,
    needs: Object.freeze(needs),
    verify(crypto: CryptoProvider, key: PublicKey, data: Uint8Array, sig: SshReader): boolean {
      if (key.kind !== "ecdsa" || key.curve !== info.curve) return false;
      const rs = ecdsaRS(sig.string(), info.bytes);
      sig.done("ecdsa signature");
      return rs !== null && crypto.ecdsaVerify!(info.curve, key.point, data, rs);
    },
  });
}

/** PROTOCOL.u2f: what an authenticator signed: SHA-256(application) || flags || counter ||
 * SHA-256(message). */
function skSignedData(crypto: CryptoProvider, application: Uint8Array, flags: number, counter: number, data: Uint8Array): Uint8Array {
  return new SshWriter(32 + 1 + 4 + 32).raw(crypto.sha256(application)).byte(flags).uint32(counter).raw(crypto.sha256(data)).bytes();
}

export const SIGNATURE_ALGORITHMS: Readonly<Record<string, SignatureAlgorithm>> = Object.freeze({
  "ssh-ed25519": Object.freeze({
    name: "ssh-ed25519",
    keyType: "ssh-ed25519",
    needs: Object.freeze([] as CryptoFeature[]),
    verify(crypto: CryptoProvider, key: PublicKey, data: Uint8Array, sig: SshReader): boolean {
      const s = sig.string();
      sig.done("ssh-ed25519 signature");
      return key.kind === "ed25519" && s.length === 64 && crypto.ed25519Verify(key.key, data, s);
    },
  }),
  "sk-ssh-ed25519@openssh.com": Object.freeze({
    name: "sk-ssh-ed25519@openssh.com",
    keyType: "sk-ssh-ed25519@openssh.com",
    needs: Object.freeze([] as CryptoFeature[]),
    verify(crypto: CryptoProvider, key: PublicKey, data: Uint8Array, sig: SshReader): boolean | SkSignature {
      const s = sig.string();
      const flags = sig.byte();
      const counter = sig.uint32();
      sig.done("sk-ssh-ed25519 signature");
      if (key.kind !== "sk-ed25519" || s.length !== 64) return false;
      return crypto.ed25519Verify(key.key, skSignedData(crypto, key.application, flags, counter, data), s) ? { flags, counter } : false;
    },
  }),
  "ecdsa-sha2-nistp256": ecdsaEntry(0),
  "ecdsa-sha2-nistp384": ecdsaEntry(1),
  "ecdsa-sha2-nistp521": ecdsaEntry(2),
  "sk-ecdsa-sha2-nistp256@openssh.com": Object.freeze({
    name: "sk-ecdsa-sha2-nistp256@openssh.com",
    keyType: "sk-ecdsa-sha2-nistp256@openssh.com",
    needs: Object.freeze(["ecdsa-p256"] as CryptoFeature[]),
    verify(crypto: CryptoProvider, key: PublicKey, data: Uint8Array, sig: SshReader): boolean | SkSignature {
      const inner = sig.string();
      const flags = sig.byte();
      const counter = sig.uint32();
      sig.done("sk-ecdsa signature");
      if (key.kind !== "sk-ecdsa") return false;
      const rs = ecdsaRS(inner, 32);
      // The ECDSA signature is over SHA-256 of the signed data, which ecdsaVerify computes.
      return rs !== null && crypto.ecdsaVerify!("p256", key.point, skSignedData(crypto, key.application, flags, counter, data), rs) ? { flags, counter } : false;
    },
  }),
  "rsa-sha2-512": rsaEntry("rsa-sha2-512", "sha512"),
  "rsa-sha2-256": rsaEntry("rsa-sha2-256", "sha256"),
});

/** Signature algorithms we refuse on purpose, with the reason the log gives. */
export const REFUSED_SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = Object.freeze({
  "ssh-rsa": "ssh-rsa signatures use SHA-1, which is broken (chosen-prefix collisions); use rsa-sha2-256 or rsa-sha2-512 (OpenSSH 7.2+ does when server-sig-algs lists them)",
  "ssh-dss": "ssh-dss (DSA) keys are limited to 1024 bits and SHA-1",
});

/** True when the provider lists every feature in `needs`. */
export function hasFeatures(crypto: CryptoProvider, needs: readonly CryptoFeature[]): boolean {
  for (const f of needs) if (crypto.features.indexOf(f) < 0) return false;
  return true;
}

export type VerifyResult =
  | { ok: true; algorithm: string; key: PublicKey; sk?: SkSignature }
  | { ok: false; reason: string; /** the key blob itself is invalid (not merely refused) */ badKey?: boolean };

/**
 * Checks that `algorithm` can be used with the key in `keyBlob` on this provider, before any
 * signature exists (the PK_OK query of RFC 4252 7 and the first half of verifySignature).
 */
export function checkKeyAlgorithm(crypto: CryptoProvider, algorithm: string, keyBlob: Uint8Array): VerifyResult {
  const refused = REFUSED_SIGNATURE_ALGORITHMS[algorithm];
  if (refused !== undefined) return { ok: false, reason: refused };
  const alg = Object.prototype.hasOwnProperty.call(SIGNATURE_ALGORITHMS, algorithm) ? SIGNATURE_ALGORITHMS[algorithm] : undefined;
  if (!alg) return { ok: false, reason: `unsupported signature algorithm "${algorithm.slice(0, 60)}"` };
  if (!hasFeatures(crypto, alg.needs)) return { ok: false, reason: `${algorithm}: this host's crypto provider (${crypto.name}) cannot verify it` };
  const key = parsePublicKey(keyBlob);
  if (key === null) return { ok: false, reason: `unsupported key type "${keyBlobType(keyBlob).slice(0, 60)}"` };
  if ("error" in key) return { ok: false, reason: key.error, badKey: true };
  if (key.type !== alg.keyType) return { ok: false, reason: `algorithm ${algorithm} does not match a ${key.type} key` };
  if (key.kind === "rsa" && key.bits < MIN_RSA_BITS) return { ok: false, reason: `RSA key of ${key.bits} bits refused: at least ${MIN_RSA_BITS} bits are required` };
  return { ok: true, algorithm, key };
}

/**
 * Verifies `signatureBlob` (string algorithm, then the algorithm's fields) over `signedData` under
 * the key in `keyBlob`. When `algorithm` is given (a publickey request names one), the signature
 * must be of that algorithm (OpenSSH requires the same). Never throws for bad input: every refusal
 * comes back with its reason. For sk-* keys the result carries the authenticator's flags and
 * counter; whether user presence is required is the caller's policy (see SK_USER_PRESENT).
 */
export function verifySignature(
  crypto: CryptoProvider,
  keyBlob: Uint8Array,
  signedData: Uint8Array,
  signatureBlob: Uint8Array,
  algorithm?: string,
): VerifyResult {
  let sr: SshReader;
  let sigAlgorithm: string;
  try {
    sr = new SshReader(signatureBlob);
    sigAlgorithm = asciiDecode(sr.string());
  } catch {
    return { ok: false, reason: "signature blob does not start with an algorithm name" };
  }
  if (algorithm !== undefined && sigAlgorithm !== algorithm) {
    return { ok: false, reason: `signature algorithm ${sigAlgorithm.slice(0, 60)} differs from the requested ${algorithm.slice(0, 60)}` };
  }
  const checked = checkKeyAlgorithm(crypto, sigAlgorithm, keyBlob);
  if (!checked.ok) return checked;
  const alg = SIGNATURE_ALGORITHMS[sigAlgorithm];
  let result: boolean | SkSignature;
  try {
    result = alg.verify(crypto, checked.key, signedData, sr);
  } catch (e) {
    if (e instanceof WireError) return { ok: false, reason: `malformed ${sigAlgorithm} signature (${e.message})` };
    throw e;
  }
  if (result === false) return { ok: false, reason: `${sigAlgorithm} signature does not verify` };
  return result === true ? { ok: true, algorithm: sigAlgorithm, key: checked.key } : { ok: true, algorithm: sigAlgorithm, key: checked.key, sk: result };
}

/** The key types this provider can verify some signature of (for loading authorized_keys). */
export function verifiableKeyTypes(crypto: CryptoProvider): string[] {
  const out: string[] = [];
  for (const name of Object.keys(SIGNATURE_ALGORITHMS)) {
    const alg = SIGNATURE_ALGORITHMS[name];
    if (hasFeatures(crypto, alg.needs) && out.indexOf(alg.keyType) < 0) out.push(alg.keyType);
  }
  return out;
}

/** Splits authorized keys into those this provider can verify and a note per type it cannot, and
 * notes RSA keys below the minimum (they would be refused at login). */
export function usableUserKeys<K extends { type: string; blob: Uint8Array }>(crypto: CryptoProvider, keys: readonly K[]): { usable: K[]; notes: string[] } {
  const types = verifiableKeyTypes(crypto);
  const usable: K[] = [];
  const skipped: Record<string, number> = {};
  const notes: string[] = [];
  for (const k of keys) {
    if (types.indexOf(k.type) < 0) {
      skipped[k.type] = (skipped[k.type] ?? 0) + 1;
      continue;
    }
    const parsed = parsePublicKey(k.blob);
    if (parsed === null || "error" in parsed) {
      notes.push(`a ${k.type} key is invalid: ${parsed === null ? "unknown type" : parsed.error}; ignored`);
      continue;
    }
    if (parsed.kind === "rsa" && parsed.bits < MIN_RSA_BITS) notes.push(`an RSA key of ${parsed.bits} bits will be refused (at least ${MIN_RSA_BITS} bits are required)`);
    usable.push(k);
  }
  for (const t of Object.keys(skipped)) notes.push(`${skipped[t]} key(s) of type ${t} ignored: this host's crypto provider (${crypto.name}) cannot verify them`);
  return { usable, notes };
}
