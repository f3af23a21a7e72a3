// User authentication protocol (RFC 4252): "none" lists the methods, "publickey" (RFC 4252 7, with
// the PK_OK query step) with every key type of the signature table (signature.ts: Ed25519, ECDSA,
// RSA with SHA-2, FIDO sk-*), and "password" checked against a stored hash.

import type { CryptoProvider } from "../crypto/provider.js";
import { DISCONNECT, MSG, SshError } from "./messages.js";
import { fingerprintSha256 } from "./keys.js";
import type { Transport } from "./transport.js";
import { authoriseKeyOptions, parseKeyOptions, passwordAccess, type Access, type KeyOptions } from "./access.js";
import { SK_USER_PRESENT, SK_USER_VERIFIED, checkKeyAlgorithm, verifySignature } from "./signature.js";
import { SshReader, SshWriter, bytesEqual, utf8Decode } from "./wire.js";
import { certAlgorithm, checkCertificate, parseCertificate, type CertAlgorithm } from "./cert.js";

/** Failed attempts (publickey or password; "none" does not count) before we disconnect, as
 * OpenSSH's MaxAuthTries. A client offering many keys from an agent meets the same limit there. */
export const MAX_AUTH_ATTEMPTS = 6;
/** Bytes of a user name we look at; longer names are refused as unknown. */
export const MAX_USER_NAME = 64;

/** A key allowed to log in: its type and wire blob (and for ssh-ed25519 the raw 32-byte key, no
 * longer needed here), with its authorized_keys options as written. */
export interface AllowedKey {
  type: string;
  blob: Uint8Array;
  publicKey?: Uint8Array;
  options?: readonly string[];
}

export interface AuthPolicy {
  /** True for the user names that exist (e.g. "console", one per UART later). */
  isUser(user: string): boolean;
  /** Keys allowed for this user. */
  authorizedKeys(user: string): readonly AllowedKey[];
  /** The stored password hash for this user, if password logins are enabled. */
  passwordHash(user: string): string | undefined;
  /** Checks a password against a stored hash (modules/ssh/password.ts). */
  verifyPassword(password: string, hash: string): boolean;
  /** True when password logins are enabled at all. */
  passwordEnabled: boolean;
  /** Text shown before login (USERAUTH_BANNER), if any. */
  banner?: string;
  /** What a login was allowed, in words, for its audit line (the console's role and UARTs). */
  describeAccess?(user: string, access: Access): string;
}

export type AuthOutcome = { kind: "pending" } | { kind: "success"; user: string; method: string; access: Access };

/** Where a connection comes from and what time it is, for key options and certificates. */
export interface AuthContext {
  /** The source address (access.ts sourceAddress). */
  readonly source: string;
  /** Wall-clock milliseconds since the epoch, or null when the host's clock is not set (a board
   * before SNTP): then expiry-time= keys and certificates are refused. */
  wallClock(): number | null;
}

export class UserAuth {
  /** Attempts that failed so far. */
  failures = 0;
  private bannerSent = false;
  constructor(
    private readonly crypto: CryptoProvider,
    private readonly policy: AuthPolicy,
    private readonly transport: Transport,
    private readonly sessionId: Uint8Array,
    private readonly log: (line: string) => void,
    private readonly where: AuthContext = { source: "", wallClock: () => null },
  ) {}

  /** Handles one SSH_MSG_USERAUTH_REQUEST (payload with message number). */
  request(payload: Uint8Array): AuthOutcome {
    const r = new SshReader(payload, 1);
    const userBytes = r.string();
    const service = r.text();
    const method = r.text();
    const user = userBytes.length <= MAX_USER_NAME ? utf8Decode(userBytes) : "";
    this.sendBanner();
    if (service !== "ssh-connection") {
      throw new SshError(DISCONNECT.SERVICE_NOT_AVAILABLE, `service "${service.slice(0, 40)}" is not available`);
    }
    const known = user !== "" && this.policy.isUser(user);
    switch (method) {
      case "none":
        return this.fail(false);
      case "publickey":
        return this.publickey(r, user, known, payload);
      case "password": {
        const change = r.boolean();
        const password = r.text();
        const hash = known ? this.policy.passwordHash(user) : undefined;
        if (!change && hash !== undefined && this.policy.verifyPassword(password, hash)) return this.succeed(user, "password", passwordAccess(this.where.source));
        this.log(`password refused for user "${user.slice(0, MAX_USER_NAME)}"`);
        return this.fail(true);
      }
      default:
        return this.fail(false);
    }
  }

  private publickey(r: SshReader, user: string, known: boolean, payload: Uint8Array): AuthOutcome {
    const hasSignature = r.boolean();
    const algorithm = r.text();
    const blob = r.string();
    const who = `user "${user.slice(0, MAX_USER_NAME)}"`;
    const certAlg = certAlgorithm(algorithm);
    if (certAlg) return this.certificate(r, user, known, payload, hasSignature, algorithm, blob, certAlg, who);
    // The algorithm and key first: a key blob of a known type that is not a valid key (a point off
    // its curve, an RSA modulus beyond the maximum) ends the connection; one we only refuse (an
    // algorithm we do not take, a short RSA key, SHA-1) is a failed attempt with a log line.
    const usable = checkKeyAlgorithm(this.crypto, algorithm, blob);
    if (!usable.ok) {
      if (usable.badKey) throw new SshError(DISCONNECT.PROTOCOL_ERROR, `invalid public key: ${usable.reason}`);
      this.log(`public key refused for ${who}: ${usable.reason}`);
      return this.fail(true);
    }
    const found = known ? this.findKey(user, blob, who) : undefined;
    const key = found?.key;
    if (!hasSignature) {
      if (!key) return this.fail(true);
      // RFC 4252 7: the key would be acceptable; the client then signs.
      this.transport.begin(MSG.USERAUTH_PK_OK).text(algorithm).string(blob);
      this.transport.send();
      return { kind: "pending" };
    }
    const signatureBlob = r.string();
    if (!key) {
      this.log(`public key refused for ${who}: ${usable.key.type} key not authorized`);
      return this.fail(true);
    }
    // The signed data (RFC 4252 7): session identifier, then the request up to the signature.
    const signed = new SshWriter(payload.length + 64).string(this.sessionId).raw(payload.subarray(0, r.pos - 4 - signatureBlob.length));
    const v = verifySignature(this.crypto, blob, signed.view(), signatureBlob, algorithm);
    if (!v.ok) {
      this.log(`public key refused for ${who}: ${v.reason}`);
      return this.fail(true);
    }
    const options = found!.options;
    if (v.sk) {
      // PROTOCOL.u2f: user presence is required unless the key says no-touch-required; user
      // verification (PIN, biometrics) only when it says verify-required, as sshd does.
      if ((v.sk.flags & SK_USER_PRESENT) === 0 && !options.noTouchRequired) {
        this.log(`public key refused for ${who}: security key signature without user presence (touch); the key's options do not say no-touch-required`);
        return this.fail(true);
      }
      if ((v.sk.flags & SK_USER_VERIFIED) === 0 && options.verifyRequired) {
        this.log(`public key refused for ${who}: security key signature without user verification, which the key's options require (verify-required)`);
        return this.fail(true);
      }
    } else if (options.verifyRequired) {
      this.log(`public key refused for ${who}: the key's options say verify-required, which only a security key can meet`);
      return this.fail(true);
    }
    const fingerprint = fingerprintSha256(blob, this.crypto);
    return this.succeed(user, `publickey (${v.algorithm} ${fingerprint})`, {
      method: "publickey",
      keyType: v.algorithm,
      fingerprint,
      certificate: null,
      source: this.where.source,
      forcedCommand: options.command,
      pty: options.pty,
      environment: options.environment,
      principals: null,
    });
  }

  /**
   * A certificate (PROTOCOL.certkeys) signed by the key of a cert-authority line: the line's options
   * (from=, expiry-time=, principals=), the CA's signature, the certificate's checks (cert.ts), then
   * the holder's signature with the key inside the certificate.
   */
  private certificate(r: SshReader, user: string, known: boolean, payload: Uint8Array, hasSignature: boolean, algorithm: string, blob: Uint8Array, alg: CertAlgorithm, who: string): AuthOutcome {
    const refuse = (why: string) => {
      this.log(`certificate refused for ${who}: ${why}`);
      return this.fail(true);
    };
    const cert = parseCertificate(blob, alg);
    if (typeof cert === "string") return refuse(cert);
    const usable = checkKeyAlgorithm(this.crypto, alg.signature, cert.keyBlob);
    if (!usable.ok) return refuse(usable.reason);
    if (!known) return this.fail(true);
    // The CA line: a cert-authority line with the signing key whose options allow this login.
    const wall = this.where.wallClock();
    const wallSeconds = wall === null ? null : Math.floor(wall / 1000);
    let line: KeyOptions | null = null;
    let why = `the certificate's CA (${fingerprintSha256(cert.signatureKey, this.crypto)}) is not a cert-authority of this device`;
    for (const k of this.policy.authorizedKeys(user)) {
      if (!bytesEqual(k.blob, cert.signatureKey)) continue;
      const options = parseKeyOptions(k.options ?? []);
      if ("error" in options) {
        why = `the cert-authority line is unusable: ${options.error}`;
        continue;
      }
      if (!options.certAuthority) continue;
      const refused = authoriseKeyOptions(options, this.where.source, wallSeconds);
      if (refused !== null) {
        why = refused;
        continue;
      }
      line = options;
      break;
    }
    if (!line) return refuse(why);
    const ca = verifySignature(this.crypto, cert.signatureKey, cert.signed, cert.signature);
    if (!ca.ok) return refuse(`the CA's signature on certificate "${cert.keyId}" does not verify: ${ca.reason}`);
    const grant = checkCertificate(cert, { user, linePrincipals: line.principals, source: this.where.source, wallSeconds });
    if (typeof grant === "string") return refuse(grant);
    if (line.command !== null && grant.forceCommand !== null && line.command !== grant.forceCommand) {
      return refuse(`the certificate's force-command and the cert-authority line's command= differ`);
    }
    if (!hasSignature) {
      this.transport.begin(MSG.USERAUTH_PK_OK).text(algorithm).string(blob);
      this.transport.send();
      return { kind: "pending" };
    }
    const signatureBlob = r.string();
    const signed = new SshWriter(payload.length + 64).string(this.sessionId).raw(payload.subarray(0, r.pos - 4 - signatureBlob.length));
    const v = verifySignature(this.crypto, cert.keyBlob, signed.view(), signatureBlob, alg.signature);
    if (!v.ok) return refuse(v.reason);
    const verifyRequired = grant.verifyRequired || line.verifyRequired;
    if (v.sk) {
      // As sshd merges a CA line's options with a certificate's: touch may be skipped only when
      // both say no-touch-required (the line's option and the certificate's extension); user
      // verification is needed when either says verify-required.
      if ((v.sk.flags & SK_USER_PRESENT) === 0 && !(grant.noTouchRequired && line.noTouchRequired)) {
        return refuse(`security key signature without user presence (touch) for certificate "${cert.keyId}"; no-touch-required is not on both the certificate and the cert-authority line`);
      }
      if ((v.sk.flags & SK_USER_VERIFIED) === 0 && verifyRequired) {
        return refuse(`security key signature without user verification for certificate "${cert.keyId}", which verify-required asks for`);
      }
    } else if (verifyRequired) return refuse("verify-required needs a security key, and this certificate's key is not one");
    const fingerprint = fingerprintSha256(cert.keyBlob, this.crypto);
    const caFingerprint = fingerprintSha256(cert.signatureKey, this.crypto);
    return this.succeed(user, `publickey (${algorithm} ${fingerprint}, certificate "${cert.keyId}" serial ${cert.serial} from CA ${caFingerprint})`, {
      method: "publickey",
      keyType: algorithm,
      fingerprint,
      certificate: { id: cert.keyId, serial: cert.serial, ca: caFingerprint, principals: cert.principals },
      source: this.where.source,
      forcedCommand: line.command ?? grant.forceCommand,
      pty: line.pty && grant.pty,
      environment: line.environment,
      principals: line.principals !== null ? null : cert.principals,
    });
  }

  /**
   * The first authorized_keys line with exactly this key whose options allow this login (as sshd,
   * a key may be listed on several lines with different options). Lines whose options refuse it are
   * logged, one line each, with the reason (an unknown option, from=, expiry-time=).
   * cert-authority lines are not user keys.
   */
  private findKey(user: string, blob: Uint8Array, who: string): { key: AllowedKey; options: KeyOptions } | undefined {
    const wall = this.where.wallClock();
    for (const k of this.policy.authorizedKeys(user)) {
      if (!bytesEqual(k.blob, blob)) continue;
      const options = parseKeyOptions(k.options ?? []);
      if ("error" in options) {
        this.log(`public key refused for ${who}: authorized_keys line for this ${k.type} key is unusable: ${options.error}`);
        continue;
      }
      if (options.certAuthority) continue;
      const refused = authoriseKeyOptions(options, this.where.source, wall === null ? null : Math.floor(wall / 1000));
      if (refused !== null) {
        this.log(`public key refused for ${who}: ${refused}`);
        continue;
      }
      return { key: k, options };
    }
    return undefined;
  }

  /** Methods that can continue (RFC 4252 5.1); the same for every user name, so the answer does not
   * tell which users exist. */
  private methods(): string[] {
    return this.policy.passwordEnabled ? ["publickey", "password"] : ["publickey"];
  }

  private fail(counts: boolean): AuthOutcome {
    if (counts && ++this.failures >= MAX_AUTH_ATTEMPTS) {
      throw new SshError(DISCONNECT.NO_MORE_AUTH_METHODS_AVAILABLE, `too many authentication failures (${MAX_AUTH_ATTEMPTS})`);
    }
    this.transport.begin(MSG.USERAUTH_FAILURE).nameList(this.methods()).boolean(false);
    this.transport.send();
    return { kind: "pending" };
  }

  private succeed(user: string, method: string, access: Access): AuthOutcome {
    this.transport.begin(MSG.USERAUTH_SUCCESS);
    this.transport.send();
    return { kind: "success", user, method, access };
  }

  private sendBanner(): void {
    if (this.bannerSent || !this.policy.banner) return;
    this.bannerSent = true;
    this.transport.begin(MSG.USERAUTH_BANNER).text(this.policy.banner).text("");
    this.transport.send();
  }
}
