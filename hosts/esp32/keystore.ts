// The ESP32's persistent secrets and keys:
// - the host keys, made on first boot from esp_fill_random (through the native random hook) and
//   kept in NVS with Moddable's Preference module (blobs up to 4000 bytes, names up to 15
//   characters): Ed25519 always (boards from before kept its 32-byte seed, which still loads); ECDSA
//   P-256 and RSA 3072 when the native provider lists what they need, RSA made after boot because
//   its prime search takes a while (an openssh-key-v1 RSA-3072 file is ~1.8 KB);
// - authorized keys: certs/authorized_keys, built into the image as a data resource (see the
//   manifest's "data"); changing them means rebuilding;
// - the password of user "console", only when no key is authorized: made on first boot, shown
//   once on the log (serial / xsbug), and only its PBKDF2 hash is kept in NVS.

import Preference from "preference";
import type { KeyFile } from "../../modules/console/keys.js";
import Resource from "Resource";
import type { CryptoProvider } from "../../modules/crypto/provider.js";
import type { AllowedKey } from "../../modules/ssh/auth.js";
import { loadHostKeys, type HostKeyKind, type LoadedHostKeys } from "../../modules/ssh/hostkeys.js";
import { MAX_AUTHORIZED_KEYS_CHARS, parseAuthorizedKeys } from "../../modules/ssh/keys.js";
import { usableUserKeys } from "../../modules/ssh/signature.js";
import { hashPassword } from "../../modules/ssh/password.js";
import { utf8Decode } from "../../modules/ssh/wire.js";

/** NVS namespace and keys (15 characters at most each). */
export const PREF_DOMAIN = "sshconsole";
/** NVS keys of the host keys, by type ("hostkey" is the one boards have had from the start). */
const PREF_HOST_KEYS: Readonly<Record<HostKeyKind["type"], string>> = Object.freeze({
  "ssh-ed25519": "hostkey",
  "ecdsa-sha2-nistp256": "hostkey_ecdsa",
  "ssh-rsa": "hostkey_rsa",
});
const PREF_PASSWORD = "pwhash";
/** The data resource mcconfig builds from certs/authorized_keys. */
export const AUTHORIZED_KEYS_RESOURCE = "authorized_keys";
/** PBKDF2 iterations for the generated password: each login attempt costs this many HMAC-SHA256
 * pairs through the native hooks, keep it near a tenth of a second on a 160-240 MHz core. */
export const ESP32_PASSWORD_ITERATIONS = 2000;
const GENERATED_PASSWORD_LENGTH = 20;
const PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789A";

/** Loads the host keys from NVS, making those missing; RSA is left for makeLater() (after boot). */
export function loadOrCreateHostKeys(crypto: CryptoProvider, log: (line: string) => void): LoadedHostKeys {
  return loadHostKeys(crypto, {
    where: "NVS",
    load(type) {
      const stored = Preference.get(PREF_DOMAIN, PREF_HOST_KEYS[type]);
      return stored instanceof ArrayBuffer ? new Uint8Array(stored) : null;
    },
    save(type, bytes, key) {
      // Ed25519 as its bare 32-byte seed, the form boards have always kept (an older image still
      // reads it after a downgrade); the other types as openssh-key-v1 files.
      const keep = key.type === "ssh-ed25519" ? key.seed : bytes;
      Preference.set(PREF_DOMAIN, PREF_HOST_KEYS[type], keep.slice().buffer as ArrayBuffer);
    },
  }, log, { deferSlow: true });
}

/** The keys of the built-in authorized_keys this provider can verify (others are reported and
 * skipped). */
export function loadAuthorizedKeys(crypto: CryptoProvider, log: (line: string) => void): AllowedKey[] {
  if (!Resource.exists(AUTHORIZED_KEYS_RESOURCE)) {
    log(`no ${AUTHORIZED_KEYS_RESOURCE} resource in the image`);
    return [];
  }
  const resource = new Resource(AUTHORIZED_KEYS_RESOURCE);
  const length = Math.min(resource.byteLength, MAX_AUTHORIZED_KEYS_CHARS);
  const text = utf8Decode(new Uint8Array(resource.slice(0, length)));
  const parsed = parseAuthorizedKeys(text);
  for (const e of parsed.errors) log(`${AUTHORIZED_KEYS_RESOURCE}: ${e}`);
  const { usable, notes } = usableUserKeys(crypto, parsed.keys);
  for (const n of notes) log(`${AUTHORIZED_KEYS_RESOURCE}: ${n}`);
  return usable;
}

/** The built-in authorized_keys text ("" when the image has none). */
export function builtInAuthorizedKeys(log: (line: string) => void): string {
  if (!Resource.exists(AUTHORIZED_KEYS_RESOURCE)) {
    log(`no ${AUTHORIZED_KEYS_RESOURCE} resource in the image`);
    return "";
  }
  const resource = new Resource(AUTHORIZED_KEYS_RESOURCE);
  const length = Math.min(resource.byteLength, MAX_AUTHORIZED_KEYS_CHARS);
  return utf8Decode(new Uint8Array(resource.slice(0, length)));
}

/** NVS key of the keys added at run time (and built-in keys disabled): one Preference string, so
 * at most ADDED_KEYS_MAX bytes (NVS blobs and strings stop at 4000). */
const PREF_ADDED_KEYS = "addedkeys";
export const ADDED_KEYS_MAX = 3900;

/** The added keys in NVS (modules/console/keys.ts KeyFile); a write beyond ADDED_KEYS_MAX throws,
 * and `keys add` reports it. */
export function addedKeysFile(): KeyFile {
  return {
    read: () => {
      const v = Preference.get(PREF_DOMAIN, PREF_ADDED_KEYS);
      return typeof v === "string" ? v : "";
    },
    write: (text) => {
      if (text.length > ADDED_KEYS_MAX) throw new Error(`added keys would take ${text.length} bytes of NVS; at most ${ADDED_KEYS_MAX}`);
      Preference.set(PREF_DOMAIN, PREF_ADDED_KEYS, text);
    },
  };
}

/** The stored password hash; with no keys and no hash yet, makes a password, announces it once and
 * stores its hash. undefined: password logins are off. */
export function loadOrCreatePasswordHash(haveKeys: boolean, crypto: CryptoProvider, announce: (line: string) => void): string | undefined {
  const stored = Preference.get(PREF_DOMAIN, PREF_PASSWORD);
  if (typeof stored === "string") return stored === "" ? undefined : stored;
  if (haveKeys) return undefined;
  const pick = new Uint8Array(GENERATED_PASSWORD_LENGTH);
  crypto.randomBytes(pick);
  let password = "";
  // 256 is a multiple of the 32-letter alphabet: no modulo bias.
  for (let i = 0; i < pick.length; i++) password += PASSWORD_ALPHABET[pick[i] % PASSWORD_ALPHABET.length];
  const hash = hashPassword(password, crypto, ESP32_PASSWORD_ITERATIONS);
  Preference.set(PREF_DOMAIN, PREF_PASSWORD, hash);
  announce(`no authorized keys built in and no password yet: generated a password for user "console" (shown once): ${password}`);
  return hash;
}

/** NVS key of the board's random secret the access point's password is derived from
 * (modules/console/wifi.ts apPasswordFrom), made on first boot. */
const PREF_AP_SECRET = "ap_secret";
const AP_SECRET_BYTES = 16;

/** The access point's secret: from NVS, or made now (the radio is on: esp_fill_random is random). */
export function loadOrCreateApSecret(crypto: CryptoProvider): Uint8Array {
  const stored = Preference.get(PREF_DOMAIN, PREF_AP_SECRET);
  if (stored instanceof ArrayBuffer && stored.byteLength === AP_SECRET_BYTES) return new Uint8Array(stored);
  const secret = new Uint8Array(AP_SECRET_BYTES);
  crypto.randomBytes(secret);
  Preference.set(PREF_DOMAIN, PREF_AP_SECRET, secret.slice().buffer as ArrayBuffer);
  return secret;
}
