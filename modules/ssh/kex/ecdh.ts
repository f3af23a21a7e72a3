// ecdh-sha2-nistp256, ecdh-sha2-nistp384, ecdh-sha2-nistp521 (RFC 5656 4 and 6.2): ephemeral ECDH on
// the NIST curves; Q_C and Q_S are uncompressed SEC 1 points, K is the shared point's X coordinate
// as an mpint, and the hash goes with the curve size (RFC 5656 6.2.1: SHA-256, SHA-384, SHA-512).
// The client's point is fully validated (on the curve, not the identity) by the provider.

import type { CryptoFeature, CryptoProvider, EcCurve } from "../../crypto/provider.js";
import { DISCONNECT, SshError } from "../messages.js";
import { curveInfo } from "../pubkey.js";
import { SshWriter } from "../wire.js";
import type { KexHash, KexMethod, KexServerResult } from "./method.js";

function method(curveName: EcCurve, hash: KexHash): KexMethod {
  // Consts for the method below to capture: xsl keeps a captured parameter (a mutable binding) in RAM
  // as an alias, a const in flash with the preloaded table.
  const curve = curveName;
  const info = curveInfo(curve);
  const name = `ecdh-sha2-${info.id}`;
  const needs: CryptoFeature[] = [`ecdh-${curve}` as CryptoFeature];
  if (hash === "sha384") needs.push("sha384");
  return Object.freeze({
    name,
    hash,
    needs: Object.freeze(needs),
    serverExchange(crypto: CryptoProvider, clientPublic: Uint8Array): KexServerResult {
      if (clientPublic.length !== 1 + 2 * info.bytes || clientPublic[0] !== 4) {
        throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, `${name}: client public key of ${clientPublic.length} bytes is not an uncompressed point`);
      }
      const pair = crypto.ecGenerate!(curve);
      let x: Uint8Array;
      try {
        x = crypto.ecdh!(curve, pair.privateKey, clientPublic);
      } catch {
        throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, `${name}: client public key is not a point on the curve`);
      } finally {
        pair.privateKey.fill(0);
      }
      const sharedSecret = new SshWriter(info.bytes + 8).mpint(x).bytes();
      x.fill(0);
      return { serverPublic: pair.publicKey, sharedSecret };
    },
  });
}

export const ECDH_NISTP256 = method("p256", "sha256");
export const ECDH_NISTP384 = method("p384", "sha384");
export const ECDH_NISTP521 = method("p521", "sha512");
