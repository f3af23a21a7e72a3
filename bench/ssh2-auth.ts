// The authentication handler of the bench's ssh2 servers (bench/ssh2-server.ts, bench/profile.ts):
// exactly one public key, read from a .pub file, gets in.

import { readFileSync } from "node:fs";
import ssh2 from "ssh2";
import type { AuthContext } from "ssh2";

/** An ssh2 "authentication" handler that accepts only the key in pubKeyFile (with its signature). */
export function onePublicKey(pubKeyFile: string): (ctx: AuthContext) => void {
  const parsed = ssh2.utils.parseKey(readFileSync(pubKeyFile));
  if (parsed instanceof Error) throw parsed;
  const allowed = Array.isArray(parsed) ? parsed[0] : parsed;
  const blob = allowed.getPublicSSH();
  return (ctx) => {
    if (ctx.method !== "publickey" || ctx.key.algo !== allowed.type || !ctx.key.data.equals(blob)) return ctx.reject(["publickey"]);
    if (!ctx.signature) return ctx.accept();
    if (allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true) ctx.accept();
    else ctx.reject(["publickey"]);
  };
}
