// The SSH server: configuration, limits, and the set of live connections. Hosts accept sockets and
// hand each one to accept(); they call tick() about once a second.

import type { CryptoProvider } from "../crypto/provider.js";
import type { AuthPolicy } from "./auth.js";
import { CHANNEL_SEND_QUEUE, MAX_CHANNEL_PACKET } from "./channel.js";
import { ServerConnection, type ConnectionHost } from "./connection.js";
import { serverOffer, type AlgorithmOffer } from "./algorithms.js";
import type { HostKeySet } from "./hostkeys.js";
import { DISCONNECT } from "./messages.js";
import type { ServerInfo, SessionApps } from "./session.js";
import { asciiEncode } from "./wire.js";
import { MAX_PENALTY_SOURCES, PENALTY_AUTHFAIL_S, PENALTY_NOAUTH_S, SourcePenalties } from "./penalty.js";
import { sourceAddress } from "./access.js";

/** Logins `info` shows (the audit lines of the most recent ones). */
export const MAX_LAST_LOGINS = 8;

export const SOFTWARE_VERSION = "0.1.0";

/** Our receive window per channel on a host with memory to spare: 2 MiB, as OpenSSH's sshd and npm
 * ssh2 give (at 1 GB/s, 1 MiB re-opened at half is half a millisecond of data in flight). It is also
 * the most input a session holds for a slow UART. A board uses its own (BOARD_LIMITS). */
export const DEFAULT_CHANNEL_WINDOW = 2 * 1024 * 1024;

export interface ServerLimits {
  /** Version exchange, kex and authentication must complete within this (OpenSSH LoginGraceTime is 120 s). */
  loginTimeoutMs: number;
  /** A rekey we or the client started must complete within this. */
  kexTimeoutMs: number;
  /** We start a rekey after this many bytes either way (chacha20-poly1305 needs no sooner; OpenSSH
   * clients rekey at about the same point). */
  rekeyBytes: number;
  /** ... or after this many packets (sequence numbers wrap at 2^32). */
  rekeyPackets: number;
  /** ... or after this long. */
  rekeyIntervalMs: number;
  /** Our receive window per channel: the most a client can have in flight to one session, and so
   * the most a slow consumer can make us hold. */
  channelWindow: number;
  /** Largest channel data packet either way (<= MAX_CHANNEL_PACKET): what the packet buffers of a
   * busy connection grow to. */
  maxChannelPacket: number;
  /** Output a channel's app may queue beyond the peer's window, per stream. */
  channelSendQueue: number;
  /** Session channels per connection. */
  maxChannels: number;
  /** Connections at once. */
  maxConnections: number;
  /** Connections not yet logged in. When full, the oldest of them is dropped for a new one, so idle
   * half-open connections cannot keep a real client out. */
  maxUnauthenticated: number;
  /** Sources tracked for per-source penalties (penalty.ts); 0 turns penalties off. */
  penaltySources: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  loginTimeoutMs: 60_000,
  kexTimeoutMs: 60_000,
  rekeyBytes: 1 << 30,
  rekeyPackets: 2 ** 31,
  rekeyIntervalMs: 3600_000,
  channelWindow: DEFAULT_CHANNEL_WINDOW,
  maxChannelPacket: MAX_CHANNEL_PACKET,
  channelSendQueue: CHANNEL_SEND_QUEUE,
  maxChannels: 8,
  maxConnections: 16,
  maxUnauthenticated: 8,
  penaltySources: MAX_PENALTY_SOURCES,
});

/** Limits for a microcontroller with ~300 KB of RAM, shared by both firmware hosts (hosts/esp32 and
 * the QEMU stand-in, hosts/qemu), so that QEMU's memory figures size the ESP32 build (README.md,
 * "ESP32 firmware", Memory). */
export const BOARD_LIMITS: Partial<ServerLimits> = Object.freeze({
  /** Per session, the most input held for a slow UART or flash: 16 KiB, not 1 MiB. */
  channelWindow: 16 * 1024,
  /** 4 KiB channel packets keep a busy connection's receive and send buffers near 4 KiB each (32 KiB
   * packets grow them to 35 KiB). */
  maxChannelPacket: 4096,
  /** Output queued beyond the client's window, per stream. */
  channelSendQueue: 4096,
  maxChannels: 4,
  /** lwIP's active TCP connections are few (8 in the ESP32 SDK's sdkconfig, 4 in the QEMU image). */
  maxConnections: 4,
  maxUnauthenticated: 2,
  /** 64 sources: ~3 KB of table. */
  penaltySources: 64,
});

export interface ServerConfig {
  crypto: CryptoProvider;
  /** The host keys (hostkeys.ts); keys added later (an RSA key made after boot) are offered to
   * the connections that start after that. */
  hostKeys: HostKeySet;
  auth: AuthPolicy;
  apps: SessionApps;
  /** One line per event worth a log entry. */
  log(line: string): void;
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, or null while the host's clock is not set (a board
   * before SNTP); certificates and expiry-time= keys need it. Default: not set. */
  wallClock?(): number | null;
  /** Shown by `info`: the host kind ("node", "qemu", "esp32") and its name. */
  hostName: string;
  limits?: Partial<ServerLimits>;
  /** Sources exempt from per-source penalties (sshd's PerSourcePenaltyExemptList): addresses,
   * wildcards, CIDR blocks, comma-separated, as from= takes. Default "" (none), as OpenSSH. */
  penaltyExempt?: string;
  /** A user logged in (an image on OTA trial is kept then). */
  onLogin?(user: string): void;
  /** Called from tick(), about once a second. */
  onTick?(): void;
}

/** What connections need from the server. */
export interface ServerContext {
  readonly crypto: CryptoProvider;
  readonly hostKeys: HostKeySet;
  /** What a KEXINIT offers now (provider features and host keys; algorithms.ts). */
  offer(): AlgorithmOffer;
  readonly versionLine: string;
  readonly versionBytes: Uint8Array;
  readonly limits: ServerLimits;
  readonly auth: AuthPolicy;
  readonly apps: SessionApps;
  readonly info: ServerInfo;
  log(line: string): void;
  now(): number;
  wallClock(): number | null;
  authenticated(conn: ServerConnection): void;
  forget(conn: ServerConnection): void;
}

export class SshServer implements ServerContext {
  readonly crypto: CryptoProvider;
  readonly hostKeys: HostKeySet;
  private cachedOffer: AlgorithmOffer | null = null;
  private offerVersion = -1;
  readonly versionLine = `SSH-2.0-esp-ssh-console_${SOFTWARE_VERSION}`;
  readonly versionBytes = asciiEncode(this.versionLine);
  readonly limits: ServerLimits;
  readonly auth: AuthPolicy;
  readonly apps: SessionApps;
  readonly info: ServerInfo;
  readonly connections = new Set<ServerConnection>();
  private readonly config: ServerConfig;
  readonly penalties: SourcePenalties;
  /** Audit lines of the last logins, oldest first. */
  readonly lastLogins: string[] = [];

  constructor(config: ServerConfig) {
    this.config = config;
    this.crypto = config.crypto;
    this.hostKeys = config.hostKeys;
    if (config.hostKeys.all().length === 0) throw new Error("SshServer: no host key");
    this.limits = { ...DEFAULT_LIMITS, ...config.limits };
    this.limits.maxChannelPacket = Math.max(1024, Math.min(this.limits.maxChannelPacket, MAX_CHANNEL_PACKET));
    this.auth = config.auth;
    this.apps = config.apps;
    this.penalties = new SourcePenalties(this.limits.penaltySources, config.penaltyExempt ?? "");
    const startedAt = config.now();
    this.info = {
      version: SOFTWARE_VERSION,
      host: config.hostName,
      startedAt,
      now: () => config.now(),
      hostKeys: () => this.hostKeyLines(),
      cryptoName: config.crypto.name,
      sessions: () => this.sessionLines(),
      lastLogins: () => this.lastLogins.slice(),
    };
  }

  /** The first host key's fingerprint (Ed25519 wherever there is one), as ssh-keygen -l shows it. */
  get fingerprint(): string {
    return this.hostKeys.all()[0].fingerprint;
  }

  /** "SHA256:... (ED25519)" per host key, in the order they are offered. */
  hostKeyLines(): string[] {
    return this.hostKeys.all().map((k) => `${k.fingerprint} (${k.label})`);
  }

  offer(): AlgorithmOffer {
    if (!this.cachedOffer || this.offerVersion !== this.hostKeys.version) {
      this.cachedOffer = serverOffer(this.crypto, this.hostKeys);
      this.offerVersion = this.hostKeys.version;
    }
    return this.cachedOffer;
  }

  log(line: string): void {
    this.config.log(line);
  }
  now(): number {
    return this.config.now();
  }
  wallClock(): number | null {
    return this.config.wallClock ? this.config.wallClock() : null;
  }

  /** A new socket: returns its connection (the host feeds it with receive()), or null when the
   * server is full (the host closes the socket; we already wrote a reason to it). */
  accept(host: ConnectionHost, remote: string): ServerConnection | null {
    const source = sourceAddress(remote);
    const now = this.now();
    if (this.penalties.refused(source, now)) {
      // OpenSSH 9.8 PerSourcePenalties: refused before any work is done for it.
      this.log(`${remote}: refused: source ${source} is penalized for failed logins (${Math.ceil(this.penalties.pending(source, now))} s left)`);
      host.close();
      return null;
    }
    const pending = [...this.connections].filter((c) => c.phase !== "open");
    if (pending.length >= this.limits.maxUnauthenticated) {
      pending.sort((a, b) => a.startedAt - b.startedAt);
      pending[0].disconnect(DISCONNECT.TOO_MANY_CONNECTIONS, "too many unauthenticated connections; dropping the oldest");
    }
    if (this.connections.size >= this.limits.maxConnections) {
      this.log(`${remote}: refused: ${this.limits.maxConnections} connections already`);
      host.write(asciiEncode(`${this.versionLine}\r\n`));
      host.close();
      return null;
    }
    const conn = new ServerConnection(this, host, remote);
    this.connections.add(conn);
    conn.start();
    return conn;
  }

  tick(): void {
    const now = this.now();
    for (const c of [...this.connections]) c.tick(now);
    this.config.onTick?.();
  }

  /** Disconnects everyone (shutdown). */
  close(message = "server shutting down"): void {
    for (const c of [...this.connections]) c.disconnect(DISCONNECT.BY_APPLICATION, message);
  }

  authenticated(conn: ServerConnection): void {
    const a = conn.access!;
    const wall = this.wallClock();
    const when = wall !== null ? new Date(wall).toISOString() : `uptime ${Math.round((this.now() - this.info.startedAt) / 1000)} s`;
    const key = a.method === "password" ? "password" : `key ${a.keyType} ${a.fingerprint}`;
    const cert = a.certificate ? `, certificate "${a.certificate.id}" serial ${a.certificate.serial} CA ${a.certificate.ca}` : "";
    const allowed = this.auth.describeAccess ? this.auth.describeAccess(conn.user, a) : "";
    const line = `login: user "${conn.user}" ${key}${cert} from ${a.source}; allowed: ${allowed}${a.forcedCommand !== null ? `${allowed ? ", " : ""}forced command "${a.forcedCommand.slice(0, 60)}"` : ""}${a.pty ? "" : ", no pty"}`;
    this.log(`${conn.remote}: ${line}`);
    this.lastLogins.push(`${when} ${line}`);
    if (this.lastLogins.length > MAX_LAST_LOGINS) this.lastLogins.shift();
    this.config.onLogin?.(conn.user);
  }

  forget(conn: ServerConnection): void {
    if (!this.connections.delete(conn)) return;
    // A connection that never logged in earns its source a penalty (more if it failed to).
    if (conn.access === null) this.penalties.add(conn.source, conn.authFailures > 0 ? PENALTY_AUTHFAIL_S : PENALTY_NOAUTH_S, this.now());
  }

  private sessionLines(): string[] {
    const lines: string[] = [];
    for (const c of this.connections) {
      for (const s of c.sessionList()) lines.push(`${c.user}@${c.remote} ${s.kind || "(starting)"}${s.pty ? ` pty ${s.pty.cols}x${s.pty.rows}` : ""}`);
    }
    return lines;
  }
}
