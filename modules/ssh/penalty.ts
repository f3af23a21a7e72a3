// Per-source penalties, as OpenSSH 9.8's PerSourcePenalties: a connection that fails to log in earns
// its source address a penalty (seconds, added up, capped); once the pending penalty reaches the
// threshold, new connections from that source are refused at accept until it has run down. Other
// sources are not affected. The table is bounded: when it is full, expired entries go first, then
// the entry that would expire soonest. Sources matching the exempt list (sshd's
// PerSourcePenaltyExemptList: addresses, wildcards and CIDR blocks, comma-separated, "!" negates,
// matched as from= is) earn no penalty and are never refused. Default: none.

import { matchAddressList, validAddressList } from "./access.js";

/** Penalty for a connection that tried to authenticate and failed (sshd: authfail:5s). */
export const PENALTY_AUTHFAIL_S = 5;
/** Penalty for a connection that ended without trying to authenticate (sshd: noauth:1s). */
export const PENALTY_NOAUTH_S = 1;
/** Pending penalty from which a source is refused (sshd: min:15s): three failed logins in a row. */
export const PENALTY_MIN_S = 15;
/** Most penalty a source can accumulate (sshd: max:600s). */
export const PENALTY_MAX_S = 600;
/** Sources the node host tracks (sshd: max-sources4=65536; a few KB here). */
export const MAX_PENALTY_SOURCES = 1024;

/** The part of an address a penalty applies to: IPv4 addresses whole, IPv6 by /64 (sshd's default
 * max-sources6 prefix), as one host usually owns a /64. */
export function penaltyKey(address: string): string {
  if (address.indexOf(":") < 0) return address;
  const head = address.split("::")[0].split(":");
  if (address.indexOf("::") < 0 || head.length >= 4) return head.slice(0, 4).join(":");
  return head.join(":") + "::";
}

export class SourcePenalties {
  /** key -> penalty expiry, in ms of the server's clock. Made per server, never at module load. */
  private readonly table = new Map<string, number>();

  /** `exempt`: a pattern list as from= takes ("" for none); throws on an unusable one. */
  constructor(readonly maxSources = MAX_PENALTY_SOURCES, readonly exempt = "") {
    if (exempt !== "" && !validAddressList(exempt, true)) throw new Error(`penalty exempt list: "${exempt}" is not a list of addresses, patterns or CIDR blocks`);
  }

  /** True when the address is on the exempt list. */
  exempted(address: string): boolean {
    return this.exempt !== "" && matchAddressList(address, this.exempt, true);
  }

  get size(): number {
    return this.table.size;
  }

  /** Seconds of pending penalty for this address (0: none). */
  pending(address: string, now: number): number {
    const until = this.table.get(penaltyKey(address));
    return until === undefined || until <= now ? 0 : (until - now) / 1000;
  }

  /** True when new connections from this address are refused now. */
  refused(address: string, now: number): boolean {
    if (this.exempted(address)) return false;
    return this.pending(address, now) >= PENALTY_MIN_S;
  }

  /** Adds `seconds` of penalty to the address's source. */
  add(address: string, seconds: number, now: number): void {
    if (this.maxSources <= 0 || this.exempted(address)) return;
    const key = penaltyKey(address);
    const current = this.table.get(key);
    const base = current !== undefined && current > now ? current : now;
    const until = Math.min(base + seconds * 1000, now + PENALTY_MAX_S * 1000);
    if (current === undefined && this.table.size >= this.maxSources) this.evict(now);
    this.table.set(key, until);
  }

  /** Makes room for one entry: drops every expired one, or else the one expiring soonest. */
  private evict(now: number): void {
    let soonest: string | null = null;
    let soonestAt = Infinity;
    for (const [k, until] of this.table) {
      if (until <= now) this.table.delete(k);
      else if (until < soonestAt) {
        soonestAt = until;
        soonest = k;
      }
    }
    if (this.table.size >= this.maxSources && soonest !== null) this.table.delete(soonest);
  }
}
