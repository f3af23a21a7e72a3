// OpenSSH user certificates (PROTOCOL.certkeys): parsing a certificate blob, the key inside it, and
// the checks sshd makes of a certificate signed by a cert-authority line's key (user type, validity
// against the host clock, principals, critical options). The CA's signature is checked with the
// user-key signature table (signature.ts verifySignature), like any other signature.

import { SshReader, SshWriter, WireError, asciiDecode, utf8Decode } from "./wire.js";
import { matchAddressList, validAddressList } from "./access.js";

/** A certificate algorithm a client may name in a publickey request: the certificate's own type
 * (in its blob), the key type inside, and the signature algorithm its holder signs with. */
export interface CertAlgorithm {
  readonly certType: string;
  readonly keyType: string;
  readonly signature: string;
}

/** PROTOCOL.certkeys types; RSA certificates are named by their SHA-2 signature algorithm in the
 * request (OpenSSH 7.8+), the blob keeps "ssh-rsa-cert-v01". */
export const CERT_ALGORITHMS: Readonly<Record<string, CertAlgorithm>> = Object.freeze({
  "ssh-ed25519-cert-v01@openssh.com": Object.freeze({ certType: "ssh-ed25519-cert-v01@openssh.com", keyType: "ssh-ed25519", signature: "ssh-ed25519" }),
  "ecdsa-sha2-nistp256-cert-v01@openssh.com": Object.freeze({ certType: "ecdsa-sha2-nistp256-cert-v01@openssh.com", keyType: "ecdsa-sha2-nistp256", signature: "ecdsa-sha2-nistp256" }),
  "ecdsa-sha2-nistp384-cert-v01@openssh.com": Object.freeze({ certType: "ecdsa-sha2-nistp384-cert-v01@openssh.com", keyType: "ecdsa-sha2-nistp384", signature: "ecdsa-sha2-nistp384" }),
  "ecdsa-sha2-nistp521-cert-v01@openssh.com": Object.freeze({ certType: "ecdsa-sha2-nistp521-cert-v01@openssh.com", keyType: "ecdsa-sha2-nistp521", signature: "ecdsa-sha2-nistp521" }),
  // FIDO security keys (PROTOCOL.u2f): the key inside carries its application string; the holder's
  // signature carries the authenticator's flags, checked by auth.ts as for plain sk- keys.
  "sk-ssh-ed25519-cert-v01@openssh.com": Object.freeze({ certType: "sk-ssh-ed25519-cert-v01@openssh.com", keyType: "sk-ssh-ed25519@openssh.com", signature: "sk-ssh-ed25519@openssh.com" }),
  "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": Object.freeze({ certType: "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", keyType: "sk-ecdsa-sha2-nistp256@openssh.com", signature: "sk-ecdsa-sha2-nistp256@openssh.com" }),
  "rsa-sha2-256-cert-v01@openssh.com": Object.freeze({ certType: "ssh-rsa-cert-v01@openssh.com", keyType: "ssh-rsa", signature: "rsa-sha2-256" }),
  "rsa-sha2-512-cert-v01@openssh.com": Object.freeze({ certType: "ssh-rsa-cert-v01@openssh.com", keyType: "ssh-rsa", signature: "rsa-sha2-512" }),
});

export function certAlgorithm(name: string): CertAlgorithm | undefined {
  return Object.prototype.hasOwnProperty.call(CERT_ALGORITHMS, name) ? CERT_ALGORITHMS[name] : undefined;
}

/** PROTOCOL.certkeys certificate types. */
export const SSH_CERT_TYPE_USER = 1;
/** Principals in one certificate we look at. */
export const MAX_CERT_PRINCIPALS = 256;
/** Critical options we enforce; any other refuses the certificate (PROTOCOL.certkeys). */
const KNOWN_CRITICAL: readonly string[] = Object.freeze(["force-command", "source-address", "verify-required"]);

export interface Certificate {
  /** The key inside, as a plain public key blob ("ssh-ed25519" + key, ...). */
  keyBlob: Uint8Array;
  serial: string;
  type: number;
  keyId: string;
  principals: string[];
  /** Seconds since the epoch (uint64; "forever" is 2^64-1). */
  validAfter: number;
  validBefore: number;
  critical: [string, string][];
  extensions: string[];
  /** The CA's public key blob and its signature over `signed`. */
  signatureKey: Uint8Array;
  signature: Uint8Array;
  signed: Uint8Array;
}

function uint64(r: SshReader): { value: number; text: string } {
  const hi = r.uint32(), lo = r.uint32();
  return { value: hi * 4294967296 + lo, text: ((BigInt(hi) << 32n) | BigInt(lo)).toString() };
}

/** Name/data pairs of critical options or extensions; the data is itself a string (empty for flags). */
function options(blob: Uint8Array): [string, string][] {
  const r = new SshReader(blob);
  const out: [string, string][] = [];
  while (r.remaining > 0) {
    const name = r.text();
    const data = r.string();
    let value = "";
    if (data.length > 0) {
      const d = new SshReader(data);
      value = utf8Decode(d.string());
    }
    out.push([name, value]);
  }
  return out;
}

/** Parses a certificate blob of algorithm `alg`; an error string for a malformed one. */
export function parseCertificate(blob: Uint8Array, alg: CertAlgorithm): Certificate | string {
  try {
    const r = new SshReader(blob);
    const type = asciiDecode(r.string());
    if (type !== alg.certType) return `certificate of type "${type.slice(0, 60)}" named as ${alg.certType}`;
    r.string(); // nonce
    const keyStart = r.pos;
    // ed25519: pk; ECDSA: curve, Q; RSA: e, n; sk- keys add their application string.
    if (alg.keyType === "ssh-ed25519" || alg.keyType === "sk-ssh-ed25519@openssh.com") r.string();
    else if (alg.keyType === "ssh-rsa") {
      r.mpint();
      r.mpint();
    } else {
      r.string();
      r.string();
    }
    if (alg.keyType.startsWith("sk-")) r.string();
    // The key's fields are those of the plain key blob (RSA: e then n, as RFC 4253 6.6).
    const keyFields = blob.subarray(keyStart, r.pos);
    const keyBlob = new SshWriter(keyFields.length + 32).text(alg.keyType).raw(keyFields).bytes();
    const serial = uint64(r).text;
    const certType = r.uint32();
    const keyId = utf8Decode(r.string());
    const pr = new SshReader(r.string());
    const principals: string[] = [];
    while (pr.remaining > 0) {
      if (principals.length >= MAX_CERT_PRINCIPALS) return `more than ${MAX_CERT_PRINCIPALS} principals`;
      principals.push(utf8Decode(pr.string()));
    }
    const validAfter = uint64(r).value;
    const validBefore = uint64(r).value;
    const critical = options(r.string());
    const extensions = options(r.string()).map((e) => e[0]);
    r.string(); // reserved
    const signatureKey = r.string();
    const signedEnd = r.pos;
    const signature = r.string();
    r.done("certificate");
    return { keyBlob, serial, type: certType, keyId, principals, validAfter, validBefore, critical, extensions, signatureKey, signature, signed: blob.subarray(0, signedEnd) };
  } catch (e) {
    if (e instanceof WireError) return `malformed certificate (${e.message})`;
    throw e;
  }
}

/** What a certificate allows, once checked. */
export interface CertificateGrant {
  forceCommand: string | null;
  pty: boolean;
  verifyRequired: boolean;
  noTouchRequired: boolean;
}

const formatTime = (s: number) => (s >= 253402300800 ? "forever" : new Date(s * 1000).toISOString());

/**
 * sshd's checks of a user certificate (sshkey_cert_check_authority, auth2-pubkey.c): the user type,
 * the validity window against the host clock (seconds; null when the clock is not set: refused,
 * since the window cannot be checked), the principals (the login name, or one of the CA line's
 * principals=), and the critical options (source-address enforced here, force-command and
 * verify-required returned; any other refuses). Returns the reason it refuses, or what it grants.
 */
export function checkCertificate(cert: Certificate, o: { user: string; linePrincipals: string[] | null; source: string; wallSeconds: number | null }): CertificateGrant | string {
  if (cert.type !== SSH_CERT_TYPE_USER) return `certificate "${cert.keyId}" is not a user certificate (type ${cert.type})`;
  if (o.wallSeconds === null) return `certificate "${cert.keyId}" cannot be checked: this host's clock is not set (no time yet, e.g. before SNTP)`;
  if (o.wallSeconds < cert.validAfter) return `certificate "${cert.keyId}" is not yet valid (valid from ${formatTime(cert.validAfter)})`;
  if (o.wallSeconds >= cert.validBefore) return `certificate "${cert.keyId}" expired at ${formatTime(cert.validBefore)}`;
  if (cert.principals.length === 0) return `certificate "${cert.keyId}" names no principals (a certificate for every user is not accepted here)`;
  if (o.linePrincipals !== null) {
    if (!cert.principals.some((p) => o.linePrincipals!.indexOf(p) >= 0)) return `certificate "${cert.keyId}" holds none of the principals the cert-authority line allows (${o.linePrincipals.join(",").slice(0, 80)})`;
  } else if (cert.principals.indexOf(o.user) < 0) {
    return `certificate "${cert.keyId}" is not for user "${o.user}" (principals ${cert.principals.join(",").slice(0, 80)})`;
  }
  const grant: CertificateGrant = { forceCommand: null, pty: cert.extensions.indexOf("permit-pty") >= 0, verifyRequired: false, noTouchRequired: cert.extensions.indexOf("no-touch-required") >= 0 };
  const seen: string[] = [];
  for (const [name, value] of cert.critical) {
    if (seen.indexOf(name) >= 0) return `certificate "${cert.keyId}" repeats critical option "${name.slice(0, 40)}"`;
    seen.push(name);
    if (KNOWN_CRITICAL.indexOf(name) < 0) return `certificate "${cert.keyId}" has an unknown critical option "${name.slice(0, 40)}"`;
    if (name === "force-command") grant.forceCommand = value;
    else if (name === "verify-required") grant.verifyRequired = true;
    else if (name === "source-address") {
      if (!validAddressList(value, false)) return `certificate "${cert.keyId}": invalid source-address "${value.slice(0, 80)}"`;
      if (!matchAddressList(o.source, value, false)) return `certificate "${cert.keyId}": source address ${o.source} is not in source-address "${value.slice(0, 80)}"`;
    }
  }
  return grant;
}
