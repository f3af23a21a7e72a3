// What a login may do: authorized_keys options parsed and enforced as sshd does (sshd(8) "AUTHORIZED_KEYS
// FILE FORMAT", OpenSSH auth_options.c), source-address patterns (from=, a certificate's
// source-address), and the Access record a connection carries after authentication. An option we do
// not know, or cannot enforce, makes the key unusable: never a silent grant.

/** Environment names an authorized_keys `environment=` option may set: the serial settings a session
 * applies when it attaches, and the role cap (modules/console/roles.ts). Anything else refuses the
 * key, since sshd would set it and we cannot. */
export const KEY_ENVIRONMENT_NAMES: readonly string[] = Object.freeze(["SERIAL_BAUD", "SERIAL_FORMAT", "SERIAL_ROLE"]);
/** Values of SERIAL_ROLE (the roles of modules/console/roles.ts). */
const ROLE_VALUES: readonly string[] = Object.freeze(["observer", "operator", "admin"]);
/** Longest value of one option we keep (a forced command, a from= list). */
export const MAX_OPTION_VALUE = 1024;
/** environment= options per key. */
export const MAX_KEY_ENVIRONMENT = 8;
/** Patterns in one from= or source-address list. */
export const MAX_ADDRESS_PATTERNS = 32;

/** The options of one authorized_keys line, parsed. */
export interface KeyOptions {
  certAuthority: boolean;
  /** command="...": the only program this key may run. */
  command: string | null;
  /** from="...": patterns the source address must match. */
  from: string | null;
  /** principals="...": with cert-authority, names a certificate must hold instead of the login name. */
  principals: string[] | null;
  pty: boolean;
  /** environment="NAME=value" pairs (names from KEY_ENVIRONMENT_NAMES). */
  environment: [string, string][];
  /** expiry-time=: seconds since the epoch (UTC) after which the key is refused. */
  expiresAt: number | null;
  noTouchRequired: boolean;
  verifyRequired: boolean;
}

/** Flags sshd knows (auth_options.c opt_flag, each also with "no-"), and what they mean here. */
const FLAG_NAMES: readonly string[] = Object.freeze(["port-forwarding", "agent-forwarding", "x11-forwarding", "pty", "user-rc", "touch-required"]);

/** Removes the quotes of an option value (sshd opt_dequote: the quotes are required, \" is a quote). */
function dequote(raw: string): string | { error: string } {
  if (raw.length < 2 || raw[0] !== '"' || raw[raw.length - 1] !== '"') return { error: "missing quotes around the value" };
  let out = "";
  for (let i = 1; i < raw.length - 1; i++) {
    if (raw[i] === "\\" && raw[i + 1] === '"') i++;
    out += raw[i];
  }
  if (out.length > MAX_OPTION_VALUE) return { error: `value longer than ${MAX_OPTION_VALUE} characters` };
  return out;
}

/** Parses an options field (as split by keys.ts parseAuthorizedKeys). Returns the error naming the
 * option for anything we do not know or cannot enforce. */
export function parseKeyOptions(options: readonly string[]): KeyOptions | { error: string } {
  const o: KeyOptions = {
    certAuthority: false,
    command: null,
    from: null,
    principals: null,
    pty: true,
    environment: [],
    expiresAt: null,
    noTouchRequired: false,
    verifyRequired: false,
  };
  for (const option of options) {
    const eq = option.indexOf("=");
    const name = (eq < 0 ? option : option.slice(0, eq)).toLowerCase();
    const shown = option.slice(0, Math.min(option.length, eq < 0 ? 40 : eq));
    if (eq < 0) {
      if (name === "restrict") {
        // sshd: no port, agent or X11 forwarding, no pty, no ~/.ssh/rc. Forwarding and rc files do
        // not exist on this device; the pty does.
        o.pty = false;
        continue;
      }
      if (name === "cert-authority") {
        o.certAuthority = true;
        continue;
      }
      if (name === "verify-required") {
        o.verifyRequired = true;
        continue;
      }
      const negated = name.startsWith("no-");
      const flag = negated ? name.slice(3) : name;
      if (FLAG_NAMES.indexOf(flag) >= 0) {
        if (flag === "pty") o.pty = !negated;
        else if (flag === "touch-required") o.noTouchRequired = negated;
        // Forwarding of any kind and user rc files do not exist here: allowing them grants nothing,
        // refusing them is what already happens.
        continue;
      }
      return { error: `unknown option "${shown}"` };
    }
    const value = dequote(option.slice(eq + 1));
    if (typeof value !== "string") return { error: `option "${shown}": ${value.error}` };
    switch (name) {
      case "command":
        if (o.command !== null) return { error: 'more than one "command" option' };
        o.command = value;
        break;
      case "from":
        if (o.from !== null) return { error: 'more than one "from" option' };
        if (!validAddressList(value, true)) return { error: `option "from": invalid pattern list "${value.slice(0, 80)}"` };
        o.from = value;
        break;
      case "principals":
        if (o.principals !== null) return { error: 'more than one "principals" option' };
        o.principals = value.split(",").filter((p) => p !== "");
        break;
      case "expiry-time": {
        const t = parseExpiryTime(value);
        if (t === null) return { error: `option "expiry-time": "${value.slice(0, 20)}" is not YYYYMMDD[HHMM[SS]][Z]` };
        if (o.expiresAt === null || t < o.expiresAt) o.expiresAt = t;
        break;
      }
      case "environment": {
        const e = value.indexOf("=");
        const env = e > 0 ? value.slice(0, e) : "";
        if (KEY_ENVIRONMENT_NAMES.indexOf(env) < 0) {
          return { error: `option "environment": only ${KEY_ENVIRONMENT_NAMES.join(", ")} can be set here, not "${value.slice(0, e < 0 ? 40 : e)}"` };
        }
        if (env === "SERIAL_ROLE" && ROLE_VALUES.indexOf(value.slice(e + 1)) < 0) {
          return { error: `option "environment": SERIAL_ROLE must be ${ROLE_VALUES.join(", ")}, not "${value.slice(e + 1, e + 30)}"` };
        }
        if (o.environment.length >= MAX_KEY_ENVIRONMENT) return { error: `more than ${MAX_KEY_ENVIRONMENT} "environment" options` };
        o.environment.push([env, value.slice(e + 1)]);
        break;
      }
      case "permitopen":
      case "permitlisten":
      case "tunnel":
        // They narrow port forwarding and tun devices, which this device never offers.
        break;
      default:
        return { error: `unknown option "${shown}"` };
    }
  }
  if (o.principals !== null && !o.certAuthority) return { error: 'option "principals" without "cert-authority"' };
  return o;
}

/** expiry-time= (sshd: YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, "Z" for UTC). A board has no time
 * zone, so every time here is UTC. Seconds since the epoch, or null when malformed. */
export function parseExpiryTime(text: string): number | null {
  let s = text;
  if (s.endsWith("Z") || s.endsWith("z")) s = s.slice(0, -1);
  if (s.length !== 8 && s.length !== 12 && s.length !== 14) return null;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 48 || s.charCodeAt(i) > 57) return null;
  const n = (a: number, b: number) => Number(s.slice(a, b));
  const year = n(0, 4), month = n(4, 6), day = n(6, 8);
  const hour = s.length > 8 ? n(8, 10) : 0, minute = s.length > 8 ? n(10, 12) : 0, second = s.length > 12 ? n(12, 14) : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
}

// ---- addresses ----

/** The address part of a host's remote string ("127.0.0.1:5000", "[::1]:5000", "::ffff:10.0.0.1:5000"),
 * IPv4-mapped IPv6 addresses given as IPv4 (as sshd sees them). */
export function sourceAddress(remote: string): string {
  let a = remote;
  if (a.startsWith("[")) {
    const close = a.indexOf("]");
    a = close > 0 ? a.slice(1, close) : a.slice(1);
  } else {
    const colon = a.lastIndexOf(":");
    // "a.b.c.d:port" or "v6:port" (the port is always appended by our hosts)
    if (colon > 0 && (a.indexOf(":") === colon || a.indexOf(".") > 0 || a.indexOf("::") >= 0)) a = a.slice(0, colon);
  }
  if (a.toLowerCase().startsWith("::ffff:") && a.indexOf(".") > 0) a = a.slice(7);
  return a;
}

/** An IPv4 or IPv6 address as bytes (4 or 16), or null. */
export function parseAddress(text: string): Uint8Array | null {
  if (text.indexOf(":") < 0) {
    const parts = text.split(".");
    if (parts.length !== 4) return null;
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const p = parts[i];
      if (p.length === 0 || p.length > 3) return null;
      for (let j = 0; j < p.length; j++) if (p.charCodeAt(j) < 48 || p.charCodeAt(j) > 57) return null;
      const v = Number(p);
      if (v > 255) return null;
      out[i] = v;
    }
    return out;
  }
  // IPv6: groups of hex, one "::" at most, an IPv4 tail allowed.
  let head = text, tail = "";
  const dbl = text.indexOf("::");
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
    if (tail.indexOf("::") >= 0) return null;
  }
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.indexOf(".") > 0) {
        const v4 = parseAddress(p);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (p.length === 0 || p.length > 4) return null;
      let v = 0;
      for (let j = 0; j < p.length; j++) {
        const d = parseInt(p[j], 16);
        if (Number.isNaN(d)) return null;
        v = v * 16 + d;
      }
      out.push(v);
    }
    return out;
  };
  const h = groups(head), t = groups(tail);
  if (!h || !t) return null;
  if (dbl < 0 ? h.length !== 8 : h.length + t.length > 7) return null;
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

/** True when `address` is in the CIDR block `net/bits` (both of one family). null: not a valid block. */
function cidrMatch(block: string, address: Uint8Array): boolean | null {
  const slash = block.indexOf("/");
  const net = parseAddress(slash < 0 ? block : block.slice(0, slash));
  if (!net) return null;
  const max = net.length * 8;
  let bits = max;
  if (slash >= 0) {
    const b = block.slice(slash + 1);
    if (b.length === 0 || b.length > 3) return null;
    for (let j = 0; j < b.length; j++) if (b.charCodeAt(j) < 48 || b.charCodeAt(j) > 57) return null;
    bits = Number(b);
    if (bits > max) return null;
  }
  // sshd (addrmatch.c) refuses a network address with host bits set.
  for (let i = 0; i < net.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if ((net[i] & ~mask & 0xff) !== 0) return null;
    if (address.length === net.length && (address[i] & mask) !== net[i]) return false;
  }
  return address.length === net.length;
}

/** Shell-style wildcard match (* and ?), case-insensitive, as sshd's match_pattern. */
export function wildcardMatch(text: string, pattern: string): boolean {
  const s = text.toLowerCase(), p = pattern.toLowerCase();
  let si = 0, pi = 0, star = -1, mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === "?" || p[pi] === s[si])) {
      si++;
      pi++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

/** True when every entry of a comma-separated list is a usable pattern; `wildcards`: from= allows
 * host patterns (* ?), a certificate's source-address only CIDR blocks and addresses. */
export function validAddressList(list: string, wildcards: boolean): boolean {
  const entries = list.split(",");
  if (entries.length > MAX_ADDRESS_PATTERNS) return false;
  for (let e of entries) {
    if (e.startsWith("!")) e = e.slice(1);
    if (e === "") return false;
    if (e.indexOf("/") >= 0 || !wildcards) {
      if (cidrMatch(e, new Uint8Array(0)) === null) return false;
    }
  }
  return true;
}

/**
 * Matches a source address against a pattern list as sshd's match_host_and_ip does for from=:
 * entries separated by commas, "!" negates; an entry with "/" is a CIDR block, any other is a
 * wildcard pattern matched against the address text (this device does no reverse DNS: sshd with
 * UseDNS no does the same). A negated match refuses whatever else matches. `wildcards` false: only
 * addresses and CIDR blocks (a certificate's source-address).
 */
export function matchAddressList(address: string, list: string, wildcards = true): boolean {
  const bytes = parseAddress(address);
  let matched = false;
  for (let e of list.split(",")) {
    const negated = e.startsWith("!");
    if (negated) e = e.slice(1);
    let hit: boolean;
    if (e.indexOf("/") >= 0 || !wildcards) hit = bytes !== null && cidrMatch(e, bytes) === true;
    else hit = wildcardMatch(address, e);
    if (hit && negated) return false;
    if (hit) matched = true;
  }
  return matched;
}

// ---- what a login may do ----

/** What an authenticated connection may do, from its key line (options), its certificate, or its
 * password. Sessions read it; the console turns it into a role (modules/console/roles.ts). */
export interface Access {
  /** "publickey" or "password". */
  readonly method: string;
  /** The key's type as the client named its algorithm ("ssh-ed25519", "rsa-sha2-512-cert-v01@openssh.com"). */
  readonly keyType: string;
  /** SHA256:... of the user's key (of the certificate's key for certificates); "" for passwords. */
  readonly fingerprint: string;
  /** The certificate's key id, serial and CA fingerprint, or null. */
  readonly certificate: { readonly id: string; readonly serial: string; readonly ca: string; readonly principals: readonly string[] } | null;
  /** The address the connection came from. */
  readonly source: string;
  /** The only command this login may run (command=, a certificate's force-command). */
  readonly forcedCommand: string | null;
  /** May request a pty. */
  readonly pty: boolean;
  /** Environment set by the key (environment=), applied over the client's. */
  readonly environment: readonly (readonly [string, string])[];
  /** The names a certificate login was granted (its principals), or null: not limited by a
   * certificate (a plain key, a password, or a CA line with principals= that matched). */
  readonly principals: readonly string[] | null;
}

/** Access for a password login (the owner's secret: everything, as a plain key). */
export function passwordAccess(source: string): Access {
  return { method: "password", keyType: "", fingerprint: "", certificate: null, source, forcedCommand: null, pty: true, environment: [], principals: null };
}

/**
 * Checks the options of an authorized_keys line that matched the client's key, for this source and
 * wall clock (seconds since the epoch, or null when the host's clock is not set). Returns the reason
 * it refuses the key, or null.
 */
export function authoriseKeyOptions(o: KeyOptions, source: string, wallSeconds: number | null): string | null {
  if (o.from !== null && !matchAddressList(source, o.from)) return `source address ${source} does not match from="${o.from.slice(0, 120)}"`;
  if (o.expiresAt !== null) {
    if (wallSeconds === null) return "the key has an expiry-time and this host's clock is not set";
    if (wallSeconds >= o.expiresAt) return `the key expired (expiry-time ${new Date(o.expiresAt * 1000).toISOString()})`;
  }
  return null;
}
