// SSH key formats: public key blobs of the keys we hold (ssh-ed25519 RFC 8709, ecdsa-sha2-* RFC
// 5656, ssh-rsa RFC 4253), SHA256 fingerprints as ssh-keygen prints them, OpenSSH's unencrypted
// "openssh-key-v1" private key file for those types (PROTOCOL.key and sshkey.c in the OpenSSH
// sources), public key lines and authorized_keys files (sshd(8), AUTHORIZED_KEYS FILE FORMAT).
// Pure functions over strings and bytes; no I/O. Parsing and validating public keys of every type
// a client may offer is pubkey.ts.

import type { CryptoProvider, EcCurve, RsaPrivateKey } from "../crypto/provider.js";
import { ECDSA_CURVES, bytesToBigInt, curveInfo, isPointOnCurve } from "./pubkey.js";
import {
  SshReader,
  SshWriter,
  WireError,
  asciiDecode,
  asciiEncode,
  base64Decode,
  base64Encode,
  bytesEqual,
  isBase64Text,
} from "./wire.js";

export const ED25519_KEY_TYPE = "ssh-ed25519";
/** Ed25519 public keys and seeds are 32 bytes (RFC 8032 section 5.1.5). */
export const ED25519_KEY_BYTES = 32;

/** The public key blob: string "ssh-ed25519", string key (RFC 8709 section 4). */
export function ed25519PublicKeyBlob(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== ED25519_KEY_BYTES) throw new Error(`ed25519 public key must be ${ED25519_KEY_BYTES} bytes`);
  return new SshWriter(64).text(ED25519_KEY_TYPE).string(publicKey).bytes();
}

/** "SHA256:" + unpadded base64 of sha256(blob), as `ssh-keygen -l` prints it. */
export function fingerprintSha256(blob: Uint8Array, crypto: CryptoProvider): string {
  return "SHA256:" + base64Encode(crypto.sha256(blob), false);
}

/** "ssh-ed25519 AAAA... comment": the line of a .pub file or of authorized_keys. */
export function formatPublicKeyLine(blob: Uint8Array, comment?: string): string {
  const type = new SshReader(blob).text();
  const line = type + " " + base64Encode(blob);
  return comment ? line + " " + comment : line;
}

// ---------------------------------------------------------------------------------------------
// openssh-key-v1 private keys

/** The framing lines of the openssh-key-v1 format. Built from the label so that the repository's
 * scan for committed private keys (which looks for the literal line) finds none in this code. */
const PEM_LABEL = ["OPENSSH", "PRIVATE", "KEY"].join(" ");
export const PEM_BEGIN = `-----BEGIN ${PEM_LABEL}-----`;
export const PEM_END = `-----END ${PEM_LABEL}-----`;
/** The magic at the start of the decoded file: "openssh-key-v1" and a NUL (preload: read-only). */
const AUTH_MAGIC = asciiEncode("openssh-key-v1\0");
/** OpenSSH wraps the base64 body at 70 columns (sshkey.c, sshbuf_dtob64 with wrap). */
const PEM_WRAP_COLUMNS = 70;
/** The private section is padded to the cipher block size; for cipher "none" that is 8. */
const UNENCRYPTED_BLOCK_SIZE = 8;
/** An ed25519 private key file is ~400 bytes; anything far larger is not one (bounds the work). */
export const MAX_PRIVATE_KEY_FILE_CHARS = 16 * 1024;

/** A private key of a type we hold as a host key or read from a key file. Integers are unsigned
 * big-endian without leading zero bytes (EC scalars: fixed length, as the provider takes them). */
export type PrivateKey =
  | { type: "ssh-ed25519"; seed: Uint8Array; publicKey: Uint8Array }
  | { type: "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521"; curve: EcCurve; privateKey: Uint8Array; publicKey: Uint8Array }
  | { type: "ssh-rsa"; rsa: RsaPrivateKey };

/** The public key blob of a private key (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4). */
export function publicKeyBlob(key: PrivateKey): Uint8Array {
  switch (key.type) {
    case "ssh-ed25519":
      return ed25519PublicKeyBlob(key.publicKey);
    case "ssh-rsa":
      return new SshWriter(64 + key.rsa.n.length).text("ssh-rsa").mpint(key.rsa.e).mpint(key.rsa.n).bytes();
    default:
      return new SshWriter(64 + key.publicKey.length).text(key.type).text(curveInfo(key.curve).id).string(key.publicKey).bytes();
  }
}

/** Wraps a binary openssh-key-v1 file in its PEM framing, 70 columns as OpenSSH writes it. */
export function pemWrap(data: Uint8Array): string {
  const body = base64Encode(data);
  let out = PEM_BEGIN + "\n";
  for (let i = 0; i < body.length; i += PEM_WRAP_COLUMNS) out += body.slice(i, i + PEM_WRAP_COLUMNS) + "\n";
  return out + PEM_END + "\n";
}

/** The binary inside PEM framing. Throws an Error meant for the operator. */
export function pemUnwrap(text: string): Uint8Array {
  if (text.length > MAX_PRIVATE_KEY_FILE_CHARS) throw new Error("private key file is too large");
  const begin = text.indexOf(PEM_BEGIN);
  if (begin < 0) throw new Error(`not an OpenSSH private key: missing "${PEM_BEGIN}"`);
  const bodyStart = begin + PEM_BEGIN.length;
  const end = text.indexOf(PEM_END, bodyStart);
  if (end < 0) throw new Error(`not an OpenSSH private key: missing "${PEM_END}"`);
  const data = base64Decode(text.slice(bodyStart, end));
  if (data === null || data.length === 0) throw new Error("OpenSSH private key: invalid base64 body");
  return data;
}

/** An unencrypted single-key openssh-key-v1 file, binary (before PEM framing). `checkInt` should be
 * random (OpenSSH uses arc4random); it only detects wrong passphrases. */
export function encodePrivateKeyV1(key: PrivateKey, comment: string, checkInt: number): Uint8Array {
  const blob = publicKeyBlob(key);
  const priv = new SshWriter(256);
  priv.uint32(checkInt >>> 0).uint32(checkInt >>> 0).text(key.type);
  // The key's own fields, as sshkey_private_serialize writes them.
  switch (key.type) {
    case "ssh-ed25519": {
      if (key.seed.length !== ED25519_KEY_BYTES) throw new Error(`ed25519 seed must be ${ED25519_KEY_BYTES} bytes`);
      const secret = new Uint8Array(ED25519_KEY_BYTES * 2);
      secret.set(key.seed, 0);
      secret.set(key.publicKey, ED25519_KEY_BYTES);
      priv.string(key.publicKey).string(secret);
      secret.fill(0);
      break;
    }
    case "ssh-rsa": {
      const r = key.rsa;
      priv.mpint(r.n).mpint(r.e).mpint(r.d).mpint(r.qi).mpint(r.p).mpint(r.q);
      break;
    }
    default:
      priv.text(curveInfo(key.curve).id).string(key.publicKey).mpint(key.privateKey);
  }
  priv.text(comment);
  for (let pad = 1; priv.pos % UNENCRYPTED_BLOCK_SIZE !== 0; pad++) priv.byte(pad);
  const file = new SshWriter(512 + priv.pos);
  file.raw(AUTH_MAGIC).text("none").text("none").string(new Uint8Array(0)).uint32(1);
  file.string(blob).string(priv.view());
  priv.buf.fill(0);
  const out = file.bytes();
  file.buf.fill(0);
  return out;
}

/** Parses a binary unencrypted openssh-key-v1 file of any type we hold. Throws an Error with a
 * message meant for the operator when it is anything else. */
export function decodePrivateKeyV1(data: Uint8Array): { key: PrivateKey; comment: string } {
  try {
    return parseKeyV1(data);
  } catch (e) {
    if (e instanceof WireError) throw new Error("OpenSSH private key: truncated or corrupt (" + e.message + ")");
    throw e;
  }
}

/** Encodes an unencrypted single-key ed25519 openssh-key-v1 file (framed by PEM_BEGIN / PEM_END). */
export function encodeOpenSshPrivateKey(seed: Uint8Array, publicKey: Uint8Array, comment: string, checkInt: number): string {
  const data = encodePrivateKeyV1({ type: "ssh-ed25519", seed, publicKey }, comment, checkInt);
  const text = pemWrap(data);
  data.fill(0);
  return text;
}

/** Parses an unencrypted private key file of any type we hold (PEM-framed openssh-key-v1). */
export function decodeOpenSshPrivateKeyAny(text: string): { key: PrivateKey; comment: string } {
  const data = pemUnwrap(text);
  try {
    return decodePrivateKeyV1(data);
  } finally {
    data.fill(0);
  }
}

/** Parses an unencrypted ed25519 openssh-key-v1 file as ssh-keygen writes it. Throws an Error with
 * a message meant for the operator when the file is anything else. */
export function decodeOpenSshPrivateKey(text: string): { seed: Uint8Array; publicKey: Uint8Array; comment: string } {
  const { key, comment } = decodeOpenSshPrivateKeyAny(text);
  if (key.type !== ED25519_KEY_TYPE) throw new Error(`unsupported private key type "${key.type}" (only ssh-ed25519)`);
  return { seed: key.seed, publicKey: key.publicKey, comment };
}

/** Big-endian bytes (no leading zeros) of a non-negative BigInt. */
function bigIntBytes(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** RSA CRT exponents (RFC 8017 3.2) from d, p and q: OpenSSH's file keeps only iqmp. */
function rsaFromFile(n: Uint8Array, e: Uint8Array, d: Uint8Array, iqmp: Uint8Array, p: Uint8Array, q: Uint8Array): RsaPrivateKey {
  const dv = bytesToBigInt(d), pv = bytesToBigInt(p), qv = bytesToBigInt(q);
  if (pv < 3n || qv < 3n || pv * qv !== bytesToBigInt(n)) throw new Error("OpenSSH private key: RSA primes do not match the modulus");
  return { n: n.slice(), e: e.slice(), d: d.slice(), p: p.slice(), q: q.slice(), qi: iqmp.slice(), dp: bigIntBytes(dv % (pv - 1n)), dq: bigIntBytes(dv % (qv - 1n)) };
}

function parseKeyV1(data: Uint8Array): { key: PrivateKey; comment: string } {
  if (data.length < AUTH_MAGIC.length || !bytesEqual(data.subarray(0, AUTH_MAGIC.length), AUTH_MAGIC)) {
    throw new Error('OpenSSH private key: bad magic (not "openssh-key-v1")');
  }
  const r = new SshReader(data, AUTH_MAGIC.length);
  const cipher = asciiDecode(r.string());
  const kdf = asciiDecode(r.string());
  r.string(); // kdfoptions
  if (cipher !== "none" || kdf !== "none") throw new Error("encrypted private keys are not supported (remove the passphrase with ssh-keygen -p)");
  const nkeys = r.uint32();
  if (nkeys !== 1) throw new Error(`OpenSSH private key: expected 1 key, found ${nkeys}`);
  const outerBlob = r.string();
  const privSection = r.string();
  r.done("OpenSSH private key");

  const outerType = asciiDecode(new SshReader(outerBlob).string());
  if (!isPrivateKeyType(outerType)) throw new Error(`unsupported private key type "${outerType}"`);
  if (privSection.length % UNENCRYPTED_BLOCK_SIZE !== 0) throw new Error("OpenSSH private key: private section is not padded to the block size");

  const p = new SshReader(privSection);
  const check1 = p.uint32();
  const check2 = p.uint32();
  if (check1 !== check2) throw new Error("OpenSSH private key: checkint mismatch (corrupt file)");
  const type = asciiDecode(p.string());
  if (type !== outerType) throw new Error(`OpenSSH private key: the private key is "${type}", the public key "${outerType}"`);
  let key: PrivateKey;
  if (type === ED25519_KEY_TYPE) {
    const pub = p.string();
    const secret = p.string();
    if (pub.length !== ED25519_KEY_BYTES) throw new Error("OpenSSH private key: ed25519 public key is not 32 bytes");
    if (secret.length !== ED25519_KEY_BYTES * 2) throw new Error("OpenSSH private key: ed25519 private key is not 64 bytes");
    if (!bytesEqual(secret.subarray(ED25519_KEY_BYTES), pub)) throw new Error("OpenSSH private key: private key does not contain its public key");
    key = { type, seed: secret.slice(0, ED25519_KEY_BYTES), publicKey: pub.slice() };
  } else if (type === "ssh-rsa") {
    const n = p.mpint(), e = p.mpint(), d = p.mpint(), iqmp = p.mpint(), pp = p.mpint(), q = p.mpint();
    key = { type, rsa: rsaFromFile(n, e, d, iqmp, pp, q) };
  } else {
    const info = ECDSA_CURVES.find((c) => c.type === type)!;
    const id = asciiDecode(p.string());
    if (id !== info.id) throw new Error(`OpenSSH private key: ${type} key on curve "${id}"`);
    const point = p.string();
    const d = p.mpint();
    if (d.length > info.bytes || !isPointOnCurve(info.curve, point)) throw new Error(`OpenSSH private key: invalid ${type} key`);
    const scalar = new Uint8Array(info.bytes);
    scalar.set(d, info.bytes - d.length);
    key = { type: type as "ecdsa-sha2-nistp256", curve: info.curve, privateKey: scalar, publicKey: point.slice() };
  }
  const comment = p.text();
  for (let i = 1; p.remaining > 0; i++) {
    if (p.byte() !== (i & 0xff)) throw new Error("OpenSSH private key: bad padding (corrupt file)");
  }
  if (!bytesEqual(publicKeyBlob(key), outerBlob)) throw new Error("OpenSSH private key: public key does not match the private key");
  return { key, comment };
}

function isPrivateKeyType(t: string): t is PrivateKey["type"] {
  return t === ED25519_KEY_TYPE || t === "ssh-rsa" || t === "ecdsa-sha2-nistp256" || t === "ecdsa-sha2-nistp384" || t === "ecdsa-sha2-nistp521";
}

// ---------------------------------------------------------------------------------------------
// authorized_keys

export interface AuthorizedKey {
  /** Key type as written on the line (and inside the blob), e.g. "ssh-ed25519", "ssh-rsa". */
  type: string;
  /** The public key blob (base64-decoded). */
  blob: Uint8Array;
  /** The raw 32-byte key, for ssh-ed25519 only. */
  publicKey?: Uint8Array;
  comment: string;
  /** The options field split at unquoted commas, each as written (quotes kept), e.g.
   * `command="echo a, b"`, `no-pty`. */
  options: string[];
}

/** sshd reads authorized_keys files of any size; this host bounds it (a few hundred keys). */
export const MAX_AUTHORIZED_KEYS_CHARS = 64 * 1024;
/** Longest accepted line; an ssh-rsa 8192-bit key line is ~1.4 KiB, certificates and options more. */
export const MAX_AUTHORIZED_KEYS_LINE = 8 * 1024;
/** At most this many keys are kept; later lines are reported as errors. */
export const MAX_AUTHORIZED_KEYS = 256;

/** Key types OpenSSH recognises in the first field (sshkey.c keytypes[]); a first field that is not
 * one of these is taken as the options field, as sshd does. */
const KNOWN_KEY_TYPES: readonly string[] = Object.freeze([
  "ssh-ed25519",
  "ssh-rsa",
  "ssh-dss",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "sk-ssh-ed25519@openssh.com",
  "ssh-xmss@openssh.com",
  "ssh-ed25519-cert-v01@openssh.com",
  "ssh-rsa-cert-v01@openssh.com",
  "ssh-dss-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
  "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "sk-ssh-ed25519-cert-v01@openssh.com",
  "ssh-xmss-cert-v01@openssh.com",
]);

function isSpace(c: string): boolean {
  return c === " " || c === "\t";
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpace(s[i])) i++;
  return i;
}

/** End of a whitespace-delimited token starting at i. */
function tokenEnd(s: string, i: number): number {
  while (i < s.length && !isSpace(s[i])) i++;
  return i;
}

/** Decodes a strictly formed base64 token, or null. */
function decodeBase64Token(tok: string): Uint8Array | null {
  if (!isBase64Text(tok, true) || tok.length % 4 === 1) return null;
  if (tok.indexOf("=") >= 0 && tok.length % 4 !== 0) return null;
  return base64Decode(tok);
}

/** The type string at the start of a key blob, or null when the blob does not start with one. */
function blobType(blob: Uint8Array): string | null {
  try {
    return asciiDecode(new SshReader(blob).string());
  } catch {
    return null;
  }
}

/** Parses the options field starting at i: up to the first whitespace outside double quotes
 * (backslash escapes a quote inside quotes, as in sshd's auth_options.c). Returns the options and
 * the index after the field, or an error string. */
function parseOptions(line: string, i: number): { options: string[]; next: number } | string {
  const options: string[] = [];
  let start = i;
  let quoted = false;
  for (; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === "\\" && line[i + 1] === '"') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      if (i === start) return "empty option";
      options.push(line.slice(start, i));
      start = i + 1;
    } else if (isSpace(c)) break;
  }
  if (quoted) return "unterminated quoted string in options";
  if (i === start) return "empty option";
  options.push(line.slice(start, i));
  return { options, next: i };
}

/** Parses an authorized_keys file. Never throws: malformed lines are reported in `errors` as
 * "line N: reason" (1-based) and skipped. Keys of every type are kept; only ssh-ed25519 keys get
 * `publicKey`. */
export function parseAuthorizedKeys(text: string): { keys: AuthorizedKey[]; errors: string[] } {
  const keys: AuthorizedKey[] = [];
  const errors: string[] = [];
  if (text.length > MAX_AUTHORIZED_KEYS_CHARS) {
    errors.push(`authorized_keys is ${text.length} characters; the limit is ${MAX_AUTHORIZED_KEYS_CHARS}`);
    return { keys, errors };
  }
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n];
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const lineNo = n + 1;
    const fail = (why: string) => {
      errors.push(`line ${lineNo}: ${why}`);
    };
    if (line.length > MAX_AUTHORIZED_KEYS_LINE) {
      fail(`line longer than ${MAX_AUTHORIZED_KEYS_LINE} characters`);
      continue;
    }
    let i = skipSpace(line, 0);
    if (i >= line.length || line[i] === "#") continue;
    if (keys.length >= MAX_AUTHORIZED_KEYS) {
      fail(`more than ${MAX_AUTHORIZED_KEYS} keys`);
      continue;
    }

    // Is the first field a key type or an options field? A known type, or a field followed by a
    // base64 blob that names that same type, is a key type; anything else is options.
    let options: string[] = [];
    const firstEnd = tokenEnd(line, i);
    const first = line.slice(i, firstEnd);
    let isType = KNOWN_KEY_TYPES.indexOf(first) >= 0;
    if (!isType && first.indexOf('"') < 0) {
      const s = skipSpace(line, firstEnd);
      const maybe = decodeBase64Token(line.slice(s, tokenEnd(line, s)));
      isType = maybe !== null && blobType(maybe) === first;
    }
    if (!isType) {
      const parsed = parseOptions(line, i);
      if (typeof parsed === "string") {
        fail(parsed);
        continue;
      }
      options = parsed.options;
      i = skipSpace(line, parsed.next);
    }

    const typeEnd = tokenEnd(line, i);
    const type = line.slice(i, typeEnd);
    if (type.length === 0) {
      fail("missing key type");
      continue;
    }
    i = skipSpace(line, typeEnd);
    const blobEnd = tokenEnd(line, i);
    if (blobEnd === i) {
      fail(`missing key data after "${type}"`);
      continue;
    }
    const blob = decodeBase64Token(line.slice(i, blobEnd));
    if (blob === null || blob.length === 0) {
      fail(`invalid base64 key data for "${type}"`);
      continue;
    }
    const inner = blobType(blob);
    if (inner === null) {
      fail(`corrupt key data for "${type}"`);
      continue;
    }
    if (inner !== type) {
      fail(`key type "${type}" does not match the key data ("${inner}")`);
      continue;
    }
    const key: AuthorizedKey = { type, blob, comment: line.slice(skipSpace(line, blobEnd)).trim(), options };
    if (type === ED25519_KEY_TYPE) {
      let pk: Uint8Array | null = null;
      try {
        const r = new SshReader(blob);
        r.string();
        pk = r.string();
        r.done("ssh-ed25519 key");
      } catch {
        pk = null;
      }
      if (pk === null || pk.length !== ED25519_KEY_BYTES) {
        fail("ssh-ed25519 key data does not hold a 32-byte key");
        continue;
      }
      key.publicKey = pk.slice();
    }
    keys.push(key);
  }
  return { keys, errors };
}
