// Host keys: the host-key algorithm table (one entry per name in the KEXINIT host-key list, RFC
// 4253 6.6: ssh-ed25519 RFC 8709, ecdsa-sha2-nistp256 RFC 5656, rsa-sha2-512/256 RFC 8332), the key
// kinds a server makes for itself (how to generate each, and whether that is slow), and the host
// key set a server runs with. Hosts only persist bytes: serializeHostKey/parseHostKey turn a key
// into an unencrypted openssh-key-v1 file (binary) and back, and loadHostKeys does the first-start
// generation over a small store interface.

import type { CryptoFeature, CryptoProvider } from "../crypto/provider.js";
import { decodePrivateKeyV1, encodePrivateKeyV1, fingerprintSha256, publicKeyBlob, type PrivateKey } from "./keys.js";
import { bitLength } from "./pubkey.js";
import { SshWriter } from "./wire.js";

/** RSA host keys we make: 3072 bits (NIST SP 800-57: 128-bit security, what ssh-keygen makes). */
export const RSA_HOST_KEY_BITS = 3072;
/** The length of an Ed25519 seed, the form the firmware hosts kept their first host key in. */
const ED25519_SEED_BYTES = 32;

export interface HostKeyAlgorithm {
  /** The name in the host-key name-list and at the start of the signature blob. */
  readonly name: string;
  /** The key type (in the public key blob) that signs for it. */
  readonly keyType: PrivateKey["type"];
  /** Provider features needed to sign. */
  readonly needs: readonly CryptoFeature[];
  /** The signature blob (string name, string signature) over `data` (RFC 4253 6.6). */
  sign(crypto: CryptoProvider, key: PrivateKey, data: Uint8Array): Uint8Array;
}

/** The mpint r, mpint s form of an ECDSA signature (RFC 5656 3.1.2) from fixed-length r || s. */
function ecdsaSignatureBlob(name: string, rs: Uint8Array): Uint8Array {
  const half = rs.length / 2;
  const inner = new SshWriter(rs.length + 16).mpint(rs.subarray(0, half)).mpint(rs.subarray(half)).bytes();
  return new SshWriter(inner.length + name.length + 8).text(name).string(inner).bytes();
}

function rsaAlgorithm(algorithm: string, hashName: "sha256" | "sha512"): HostKeyAlgorithm {
  // Consts for the methods below to capture: xsl keeps a captured parameter (a mutable binding) in RAM
  // as an alias, a const in flash with the preloaded table.
  const name = algorithm, hash = hashName;
  return Object.freeze({
    name,
    keyType: "ssh-rsa" as const,
    needs: Object.freeze(["rsa"] as CryptoFeature[]),
    sign(crypto: CryptoProvider, key: PrivateKey, data: Uint8Array): Uint8Array {
      if (key.type !== "ssh-rsa") throw new Error(`${name}: not an RSA key`);
      const sig = crypto.rsaSign!(hash, key.rsa, data);
      return new SshWriter(sig.length + 32).text(name).string(sig).bytes();
    },
  });
}

export const HOST_KEY_ALGORITHMS: Readonly<Record<string, HostKeyAlgorithm>> = Object.freeze({
  "ssh-ed25519": Object.freeze({
    name: "ssh-ed25519",
    keyType: "ssh-ed25519" as const,
    needs: Object.freeze([] as CryptoFeature[]),
    sign(crypto: CryptoProvider, key: PrivateKey, data: Uint8Array): Uint8Array {
      if (key.type !== "ssh-ed25519") throw new Error("ssh-ed25519: not an Ed25519 key");
      return new SshWriter(96).text("ssh-ed25519").string(crypto.ed25519Sign(key.seed, data)).bytes();
    },
  }),
  "ecdsa-sha2-nistp256": Object.freeze({
    name: "ecdsa-sha2-nistp256",
    keyType: "ecdsa-sha2-nistp256" as const,
    needs: Object.freeze(["ecdsa-p256"] as CryptoFeature[]),
    sign(crypto: CryptoProvider, key: PrivateKey, data: Uint8Array): Uint8Array {
      if (key.type !== "ecdsa-sha2-nistp256") throw new Error("ecdsa-sha2-nistp256: not a P-256 key");
      return ecdsaSignatureBlob("ecdsa-sha2-nistp256", crypto.ecdsaSign!("p256", key.privateKey, data));
    },
  }),
  "rsa-sha2-512": rsaAlgorithm("rsa-sha2-512", "sha512"),
  "rsa-sha2-256": rsaAlgorithm("rsa-sha2-256", "sha256"),
});

/** The kinds of host key a server makes for itself, in the order they are made. */
export interface HostKeyKind {
  readonly type: "ssh-ed25519" | "ecdsa-sha2-nistp256" | "ssh-rsa";
  /** As ssh-keygen -l names it. */
  readonly label: string;
  /** Provider features needed to make one. */
  readonly generateNeeds: readonly CryptoFeature[];
  /** Making one can take seconds to minutes on a board (RSA prime search): do it after boot. */
  readonly slow: boolean;
  generate(crypto: CryptoProvider): PrivateKey;
}

export const HOST_KEY_KINDS: readonly HostKeyKind[] = Object.freeze([
  Object.freeze({
    type: "ssh-ed25519" as const,
    label: "ED25519",
    generateNeeds: Object.freeze([] as CryptoFeature[]),
    slow: false,
    generate(crypto: CryptoProvider): PrivateKey {
      const seed = new Uint8Array(ED25519_SEED_BYTES);
      crypto.randomBytes(seed);
      return { type: "ssh-ed25519", seed, publicKey: crypto.ed25519Public(seed) };
    },
  }),
  Object.freeze({
    type: "ecdsa-sha2-nistp256" as const,
    label: "ECDSA",
    generateNeeds: Object.freeze(["ecdsa-p256"] as CryptoFeature[]),
    slow: false,
    generate(crypto: CryptoProvider): PrivateKey {
      const k = crypto.ecGenerate!("p256");
      return { type: "ecdsa-sha2-nistp256", curve: "p256", privateKey: k.privateKey, publicKey: k.publicKey };
    },
  }),
  Object.freeze({
    type: "ssh-rsa" as const,
    label: "RSA",
    generateNeeds: Object.freeze(["rsa", "rsa-generate"] as CryptoFeature[]),
    slow: true,
    generate(crypto: CryptoProvider): PrivateKey {
      return { type: "ssh-rsa", rsa: crypto.rsaGenerate!(RSA_HOST_KEY_BITS) };
    },
  }),
]);

function has(crypto: CryptoProvider, needs: readonly CryptoFeature[]): boolean {
  for (const f of needs) if (crypto.features.indexOf(f) < 0) return false;
  return true;
}

/** The host key kind a short name means ("ed25519", "ecdsa", "rsa", as ssh-keygen -t takes them), or
 * null. */
export function hostKeyKindByName(name: string): HostKeyKind | null {
  for (const k of HOST_KEY_KINDS) if (k.label.toLowerCase() === name.toLowerCase()) return k;
  return null;
}

/** The label ssh-keygen gives a key type. */
export function keyLabel(type: string): string {
  if (type === "ssh-ed25519") return "ED25519";
  if (type === "ssh-rsa") return "RSA";
  return type.startsWith("ecdsa-") ? "ECDSA" : type;
}

/** One host key with what the server needs of it. */
export class HostKey {
  readonly type: PrivateKey["type"];
  readonly blob: Uint8Array;
  readonly label: string;
  /** Key size in bits as ssh-keygen -l prints it. */
  readonly bits: number;
  readonly fingerprint: string;
  constructor(readonly key: PrivateKey, crypto: CryptoProvider) {
    this.type = key.type;
    this.blob = publicKeyBlob(key);
    this.label = keyLabel(key.type);
    this.bits = key.type === "ssh-rsa" ? bitLength(key.rsa.n) : key.type === "ssh-ed25519" ? 256 : key.publicKey.length === 65 ? 256 : key.publicKey.length === 97 ? 384 : 521;
    this.fingerprint = fingerprintSha256(this.blob, crypto);
  }
}

/** The host keys a server has. Keys may be added while it runs (an RSA key made after boot);
 * `version` counts the changes so that cached offers can be refreshed. */
export class HostKeySet {
  private readonly list: HostKey[] = [];
  version = 0;
  constructor(private readonly crypto: CryptoProvider, keys: readonly PrivateKey[] = []) {
    for (const k of keys) this.add(k);
  }
  /** Adds (or replaces the key of the same type). */
  add(key: PrivateKey): HostKey {
    const hk = new HostKey(key, this.crypto);
    const i = this.list.findIndex((k) => k.type === key.type);
    if (i >= 0) this.list[i] = hk;
    else this.list.push(hk);
    this.version++;
    return hk;
  }
  all(): readonly HostKey[] {
    return this.list;
  }
  byType(type: string): HostKey | undefined {
    return this.list.find((k) => k.type === type);
  }
  /** The key that signs for host-key algorithm `name`, when we have it and can sign with it. */
  forAlgorithm(name: string): HostKey | undefined {
    const alg = Object.prototype.hasOwnProperty.call(HOST_KEY_ALGORITHMS, name) ? HOST_KEY_ALGORITHMS[name] : undefined;
    if (!alg || !has(this.crypto, alg.needs)) return undefined;
    return this.byType(alg.keyType);
  }
  /** Signs `data` for host-key algorithm `name` (RFC 4253 8: the exchange hash). */
  sign(name: string, data: Uint8Array): Uint8Array {
    const key = this.forAlgorithm(name);
    if (!key) throw new Error(`no host key for ${name}`);
    return HOST_KEY_ALGORITHMS[name].sign(this.crypto, key.key, data);
  }
}

/** A key as bytes for a host to keep: an unencrypted openssh-key-v1 file (binary), which is also
 * what ssh-keygen reads once PEM-framed (keys.ts pemWrap). */
export function serializeHostKey(key: PrivateKey, crypto: CryptoProvider, comment = "esp-ssh-console host key"): Uint8Array {
  const check = new Uint8Array(4);
  crypto.randomBytes(check);
  return encodePrivateKeyV1(key, comment, ((check[0] << 24) | (check[1] << 16) | (check[2] << 8) | check[3]) >>> 0);
}

/** A kept key back from its bytes: an openssh-key-v1 file, or a bare 32-byte Ed25519 seed (the
 * form the firmware hosts kept their host key in before there were other types). Throws an Error
 * saying what is wrong. */
export function parseHostKey(bytes: Uint8Array, crypto: CryptoProvider): PrivateKey {
  if (bytes.length === ED25519_SEED_BYTES) {
    const seed = bytes.slice();
    return { type: "ssh-ed25519", seed, publicKey: crypto.ed25519Public(seed) };
  }
  return decodePrivateKeyV1(bytes).key;
}

/** Where a host keeps its host keys: one byte string per key type. */
export interface HostKeyStore {
  load(type: HostKeyKind["type"]): Uint8Array | null;
  save(type: HostKeyKind["type"], bytes: Uint8Array, key: PrivateKey): void;
  /** Where it is kept, for the log ("NVS", "the flash store", a path). */
  readonly where: string;
}

export interface LoadedHostKeys {
  keys: HostKeySet;
  /** Slow kinds left for later (deferSlow): call makeLater() once the host is up; it makes them,
   * stores them and adds them to `keys` (new connections then get them offered). */
  pending: readonly HostKeyKind[];
  makeLater(): void;
}

/**
 * Loads every host key the provider can sign with, making (and storing) those missing: a first
 * start. With `deferSlow`, kinds marked slow (RSA) are not made now but listed in `pending`, and the
 * log says so. A stored key that does not parse is replaced, with a log line saying clients will see
 * a changed host key.
 */
export function loadHostKeys(
  crypto: CryptoProvider,
  store: HostKeyStore,
  log: (line: string) => void,
  opts: { deferSlow?: boolean; /** only these kinds (as sshd's HostKey lines choose); default all */ types?: readonly HostKeyKind["type"][] } = {},
): LoadedHostKeys {
  const keys = new HostKeySet(crypto);
  const pending: HostKeyKind[] = [];
  const unsupported: string[] = [];
  const make = (kind: HostKeyKind) => {
    const started = Date.now();
    const key = kind.generate(crypto);
    store.save(kind.type, serializeHostKey(key, crypto), key);
    const hk = keys.add(key);
    log(`generated a new ${hk.label} host key (${hk.bits} bits, ${Date.now() - started} ms), kept in ${store.where}: ${hk.fingerprint}`);
  };
  for (const kind of HOST_KEY_KINDS) {
    if (opts.types && opts.types.indexOf(kind.type) < 0) continue;
    let signs = false;
    for (const name of Object.keys(HOST_KEY_ALGORITHMS)) if (HOST_KEY_ALGORITHMS[name].keyType === kind.type && has(crypto, HOST_KEY_ALGORITHMS[name].needs)) signs = true;
    if (!signs) {
      unsupported.push(kind.label);
      continue;
    }
    const stored = store.load(kind.type);
    if (stored) {
      try {
        const key = parseHostKey(stored, crypto);
        if (key.type !== kind.type) throw new Error(`it holds a ${key.type} key`);
        keys.add(key);
        continue;
      } catch (e) {
        log(`the stored ${kind.label} host key is unusable (${(e as Error).message}): making a new one (clients will see a changed host key)`);
      }
    }
    if (!has(crypto, kind.generateNeeds)) {
      log(`no ${kind.label} host key: this host's crypto provider (${crypto.name}) cannot make one`);
      continue;
    }
    if (kind.slow && opts.deferSlow) {
      pending.push(kind);
      log(`${kind.label} host key: making one takes a while on this host, it is made after start-up (until then ${kind.label} host keys are not offered)`);
      continue;
    }
    make(kind);
  }
  if (unsupported.length > 0) log(`no ${unsupported.join(" or ")} host key: this host's crypto provider (${crypto.name}) cannot sign with one`);
  return {
    keys,
    pending,
    makeLater: () => {
      for (const kind of pending.splice(0)) make(kind);
    },
  };
}
