// One SSH connection, server side: a sans-I/O state machine fed bytes with receive(), emitting bytes
// through its host. It runs the version exchange and packet layer (transport.ts), key exchanges
// (kex.ts, first and re-), user authentication (auth.ts) and the connection protocol (channel.ts,
// session.ts). Every protocol error ends this one connection with a disconnect reason and one log line.

import { hostKeysFor, type AlgorithmOffer } from "./algorithms.js";
import { CIPHERS, type PacketCipher } from "./cipher.js";
import { Channel, type ChannelSender } from "./channel.js";
import { UserAuth } from "./auth.js";
import { sourceAddress, type Access } from "./access.js";
import { deriveKey, exchangeHash, negotiate, parseKexInit, writeServerKexInit, type Negotiated } from "./kex.js";
import { KEX_METHODS, type KexHash } from "./kex/index.js";
import { MACS } from "./mac.js";
import { DISCONNECT, MSG, OPEN_FAILURE, SshError } from "./messages.js";
import { Session, type SessionOwner } from "./session.js";
import { Transport } from "./transport.js";
import { SshReader, SshWriter, WireError, asciiEncode } from "./wire.js";
import type { ServerContext } from "./server.js";

/** What the host does for one connection: its socket. */
export interface ConnectionHost {
  /** Sends bytes (copy them if kept). Returns false when the socket's buffer is full; the host then
   * calls resumeOutput() once it drains. */
  write(bytes: Uint8Array): boolean;
  /** Closes the socket after what was written is sent. */
  close(): void;
}

type Phase = "handshake" | "auth" | "open" | "closed";

/** At the first key exchange we send our KEXINIT once the client's has arrived, so that the
 * host-key list can follow what the client knows (algorithms.ts hostKeysFor). Every client we know
 * of sends its KEXINIT without waiting for ours; for one that waits, ours goes out after this. */
export const CLIENT_KEXINIT_WAIT_MS = 1000;

/** Keys for one direction, derived at the kex reply and installed at NEWKEYS. */
interface DirectionKeys {
  cipher: string;
  mac: string | null;
  key: Uint8Array;
  iv: Uint8Array;
  macKey: Uint8Array | null;
}

const DISCONNECT_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: "host not allowed",
  2: "protocol error",
  3: "key exchange failed",
  5: "MAC error",
  7: "service not available",
  8: "protocol version not supported",
  10: "connection lost",
  11: "by application",
  12: "too many connections",
  14: "no more auth methods",
});

export class ServerConnection implements ChannelSender, SessionOwner {
  readonly transport: Transport;
  phase: Phase = "handshake";
  readonly startedAt: number;
  user = "";
  /** What this login may do (set at USERAUTH_SUCCESS). */
  access: Access | null = null;
  /** The address part of `remote`. */
  readonly source: string;
  /** Publickey or password attempts that failed (for per-source penalties). */
  authFailures = 0;
  private clientVersion: Uint8Array | null = null;
  private serverKexInit: Uint8Array | null = null;
  private clientKexInit: Uint8Array | null = null;
  private negotiated: Negotiated | null = null;
  /** The offer and host-key list of the KEXINIT we sent in this key exchange. */
  private kexOffer: AlgorithmOffer | null = null;
  private offeredHostKeys: readonly string[] = [];
  /** The host-key algorithm of the first key exchange; rekeys keep it (OpenSSH checks). */
  private hostKeyAlgorithm: string | null = null;
  private replied = false;
  private ignoreGuess = false;
  private pendingIn: DirectionKeys | null = null;
  private sessionId: Uint8Array | null = null;
  private strictKex = false;
  private firstKexDone = false;
  /** Key exchanges completed on this connection (the first one included). */
  kexCount = 0;
  private kexStartedAt = 0;
  private lastKexAt: number;
  private auth: UserAuth | null = null;
  private userauthAccepted = false;
  private noMoreSessions = false;
  private readonly channels: (Channel | null)[] = [];
  private readonly sessions = new Map<Channel, Session>();
  clientSoftware = "";

  constructor(
    private readonly ctx: ServerContext,
    private readonly host: ConnectionHost,
    readonly remote: string,
  ) {
    this.startedAt = ctx.now();
    this.source = sourceAddress(remote);
    this.lastKexAt = this.startedAt;
    this.transport = new Transport(
      {
        version: (v) => this.onVersion(v),
        packet: (p, seq) => this.onPacket(p, seq),
        output: (b) => this.host.write(b),
      },
      (out) => ctx.crypto.randomBytes(out),
    );
  }

  get server() {
    return this.ctx.info;
  }
  get apps() {
    return this.ctx.apps;
  }
  log(line: string): void {
    this.ctx.log(`${this.remote}: ${line}`);
  }

  /** Sends our identification (RFC 4253 4.2). Our KEXINIT follows the client's (see
   * CLIENT_KEXINIT_WAIT_MS). */
  start(): void {
    this.transport.writeRaw(asciiEncode(this.ctx.versionLine + "\r\n"));
  }

  /** Bytes from the socket. Never throws: errors end this connection. */
  receive(data: Uint8Array): void {
    if (this.phase === "closed") return;
    this.guard(() => {
      this.transport.receive(data);
      this.maybeRekey();
    });
  }

  /** The host's send buffer drained: produce channel data again. */
  resumeOutput(): void {
    if (this.phase === "closed") return;
    this.transport.outputReady = true;
    this.guard(() => this.flushChannels());
  }

  /** Called by the host about once a second: timeouts and time-based rekey. */
  tick(now: number): void {
    if (this.phase === "closed") return;
    const limits = this.ctx.limits;
    if (this.phase !== "open" && now - this.startedAt > limits.loginTimeoutMs) {
      this.disconnect(DISCONNECT.BY_APPLICATION, `login not completed within ${limits.loginTimeoutMs / 1000} s`);
      return;
    }
    if (!this.firstKexDone && !this.serverKexInit && now - this.startedAt >= CLIENT_KEXINIT_WAIT_MS) {
      this.guard(() => this.sendKexInit(null));
      if ((this.phase as Phase) === "closed") return;
    }
    if (this.serverKexInit && this.firstKexDone && now - this.kexStartedAt > limits.kexTimeoutMs) {
      this.disconnect(DISCONNECT.KEY_EXCHANGE_FAILED, `key exchange not completed within ${limits.kexTimeoutMs / 1000} s`);
      return;
    }
    this.transport.trim();
    this.guard(() => this.maybeRekey());
  }

  /** The socket closed under us. */
  socketClosed(): void {
    if (this.phase === "closed") return;
    this.log("connection closed by peer");
    this.teardown();
  }

  /** Ends the connection with SSH_MSG_DISCONNECT (RFC 4253 11.1) and one log line. */
  disconnect(reason: number, message: string): void {
    if (this.phase === "closed") return;
    this.log(`disconnect (${DISCONNECT_NAMES[reason] ?? reason}): ${message}`);
    try {
      this.transport.holdNonKex = false;
      this.transport.begin(MSG.DISCONNECT).uint32(reason).text(message).text("");
      this.transport.send();
    } catch {
      // The packet layer may itself be what failed; the socket closes all the same.
    }
    this.teardown();
  }

  private teardown(): void {
    this.phase = "closed";
    this.transport.closed = true;
    this.transport.inCipher.dispose?.();
    this.transport.outCipher.dispose?.();
    for (const ch of this.channels) if (ch) ch.handler?.closed();
    this.channels.length = 0;
    this.sessions.clear();
    this.host.close();
    this.ctx.forget(this);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof SshError) this.disconnect(e.reason, e.message);
      else if (e instanceof WireError) this.disconnect(DISCONNECT.PROTOCOL_ERROR, `malformed message: ${e.message}`);
      else {
        this.ctx.log(`${this.remote}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        this.disconnect(DISCONNECT.BY_APPLICATION, "internal error");
      }
    }
  }

  // ---- transport events ----

  private onVersion(version: string): void {
    this.clientVersion = asciiEncode(version);
    this.clientSoftware = version;
  }

  private onPacket(payload: Uint8Array, seq: number): void {
    const type = payload[0];
    if (!this.firstKexDone && this.strictKex && type !== MSG.KEXINIT && type !== MSG.KEX_ECDH_INIT && type !== MSG.NEWKEYS) {
      // OpenSSH PROTOCOL 1.10: during the initial strict kex, any other message is fatal.
      throw new SshError(DISCONNECT.PROTOCOL_ERROR, `strict kex: unexpected message ${type} during initial key exchange`);
    }
    switch (type) {
      case MSG.DISCONNECT: {
        const r = new SshReader(payload, 1);
        const reason = r.uint32();
        const text = r.text();
        this.log(`client disconnected (${reason}): ${text.slice(0, 120)}`);
        this.teardown();
        return;
      }
      case MSG.IGNORE:
      case MSG.DEBUG:
      case MSG.UNIMPLEMENTED:
        return;
      case MSG.KEXINIT:
        return this.onKexInit(payload, seq);
      case MSG.KEX_ECDH_INIT:
        return this.onEcdhInit(payload);
      case MSG.NEWKEYS:
        return this.onNewKeys();
      case MSG.SERVICE_REQUEST:
        return this.onServiceRequest(payload);
      case MSG.USERAUTH_REQUEST:
        return this.onUserauth(payload);
      case MSG.EXT_INFO:
        return; // RFC 8308: the client may send its own; we use none of it.
    }
    if (type >= 30 && type <= 49) throw new SshError(DISCONNECT.PROTOCOL_ERROR, `unexpected key exchange message ${type}`);
    if (type >= 80 && type <= 127) {
      if (this.phase !== "open") throw new SshError(DISCONNECT.PROTOCOL_ERROR, `connection message ${type} before authentication`);
      return this.onConnectionMessage(type, payload);
    }
    // RFC 4253 11.4: anything else we do not implement.
    this.transport.begin(MSG.UNIMPLEMENTED).uint32(seq);
    this.transport.send();
  }

  // ---- key exchange (RFC 4253 7, RFC 8731) ----

  /** Sends our KEXINIT; `clientHostKeys` is the client's host-key list when we have seen it. */
  private sendKexInit(clientHostKeys: readonly string[] | null): void {
    const cookie = new Uint8Array(16);
    this.ctx.crypto.randomBytes(cookie);
    const offer = this.ctx.offer();
    this.kexOffer = offer;
    this.offeredHostKeys = hostKeysFor(offer, clientHostKeys, this.hostKeyAlgorithm);
    const w = this.transport.begin(MSG.KEXINIT);
    writeServerKexInit(w, cookie, offer, this.offeredHostKeys);
    this.serverKexInit = w.buf.slice(5, w.pos);
    this.kexStartedAt = this.ctx.now();
    this.replied = false;
    this.transport.holdNonKex = true;
    this.transport.send();
  }

  private maybeRekey(): void {
    if (!this.firstKexDone || this.serverKexInit || this.phase === "closed") return;
    const t = this.transport, l = this.ctx.limits;
    if (t.bytesSinceKex >= l.rekeyBytes || t.packetsSinceKex >= l.rekeyPackets || this.ctx.now() - this.lastKexAt >= l.rekeyIntervalMs) {
      this.sendKexInit(null);
    }
  }

  private onKexInit(payload: Uint8Array, seq: number): void {
    if (this.clientKexInit) throw new SshError(DISCONNECT.PROTOCOL_ERROR, "KEXINIT received twice in one key exchange");
    const parsed = parseKexInit(payload);
    this.clientKexInit = payload.slice();
    if (!this.serverKexInit) this.sendKexInit(parsed.hostKey); // the first kex, or the client started a rekey
    const n = negotiate(parsed, this.kexOffer!, this.offeredHostKeys);
    if (!this.firstKexDone) {
      this.strictKex = n.strictKex;
      if (this.strictKex && seq !== 0) throw new SshError(DISCONNECT.PROTOCOL_ERROR, "strict kex: KEXINIT was not the first packet");
    }
    this.negotiated = n;
    this.ignoreGuess = n.ignoreGuess;
  }

  private onEcdhInit(payload: Uint8Array): void {
    if (this.ignoreGuess) {
      this.ignoreGuess = false; // RFC 4253 7.1: a wrong guess is silently ignored
      return;
    }
    const n = this.negotiated;
    if (!n || !this.clientKexInit || !this.serverKexInit || this.replied || !this.clientVersion) {
      throw new SshError(DISCONNECT.PROTOCOL_ERROR, "KEX_ECDH_INIT outside a key exchange");
    }
    const r = new SshReader(payload, 1);
    const clientPublic = r.string();
    r.done("KEX_ECDH_INIT");
    const crypto = this.ctx.crypto;
    const method = KEX_METHODS[n.kex];
    const hostKey = this.ctx.hostKeys.forAlgorithm(n.hostKey);
    if (!hostKey) throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, `no host key for ${n.hostKey}`);
    const reply = method.serverExchange(crypto, clientPublic);
    const h = exchangeHash(crypto, method.hash, {
      clientVersion: this.clientVersion,
      serverVersion: this.ctx.versionBytes,
      clientKexInit: this.clientKexInit,
      serverKexInit: this.serverKexInit,
      hostKeyBlob: hostKey.blob,
    }, clientPublic, reply.serverPublic, reply.sharedSecret);
    const sessionId = (this.sessionId ??= h);
    const sigBlob = this.ctx.hostKeys.sign(n.hostKey, h);
    const t = this.transport;
    t.begin(MSG.KEX_ECDH_REPLY).string(hostKey.blob).string(reply.serverPublic).string(sigBlob);
    t.send();
    t.begin(MSG.NEWKEYS);
    t.send();
    this.replied = true;
    // RFC 4253 7.2: client to server IV "A", key "C", MAC key "E"; server to client "B", "D", "F".
    const k = reply.sharedSecret;
    this.pendingIn = this.directionKeys(method.hash, k, h, sessionId, n.cipherCS, n.macCS, "A", "C", "E");
    this.replaceCipher("out", this.installKeys(this.directionKeys(method.hash, k, h, sessionId, n.cipherSC, n.macSC, "B", "D", "F")));
    k.fill(0);
    if (this.strictKex) t.outSeq = 0;
    if (!this.firstKexDone && n.clientExtInfo) this.sendExtInfo();
  }

  private directionKeys(hash: KexHash, k: Uint8Array, h: Uint8Array, sid: Uint8Array, cipher: string, mac: string | null, ivLetter: string, keyLetter: string, macLetter: string): DirectionKeys {
    const c = this.ctx.crypto, spec = CIPHERS[cipher];
    return {
      cipher,
      mac,
      iv: deriveKey(c, k, h, ivLetter, sid, spec.ivLength, hash),
      key: deriveKey(c, k, h, keyLetter, sid, spec.keyLength, hash),
      macKey: mac ? deriveKey(c, k, h, macLetter, sid, MACS[mac].keyLength, hash) : null,
    };
  }

  private installKeys(d: DirectionKeys): PacketCipher {
    const cipher = CIPHERS[d.cipher].create(this.ctx.crypto, d.key, d.iv, d.mac ? MACS[d.mac] : null, d.macKey);
    d.key.fill(0);
    d.iv.fill(0);
    d.macKey?.fill(0);
    return cipher;
  }

  private replaceCipher(direction: "in" | "out", next: PacketCipher): void {
    const t = this.transport;
    const old = direction === "in" ? t.inCipher : t.outCipher;
    if (direction === "in") t.inCipher = next;
    else t.outCipher = next;
    old.dispose?.();
  }

  /** RFC 8308 2.4 / 3.1: tell the client which signature algorithms we accept for user keys. */
  private sendExtInfo(): void {
    this.transport.begin(MSG.EXT_INFO).uint32(1).text("server-sig-algs").nameList(this.kexOffer!.signatures);
    this.transport.send();
  }

  private onNewKeys(): void {
    const n = this.negotiated;
    if (!this.replied || !this.pendingIn || !n) throw new SshError(DISCONNECT.PROTOCOL_ERROR, "NEWKEYS before the key exchange reply");
    const t = this.transport;
    this.replaceCipher("in", this.installKeys(this.pendingIn));
    this.pendingIn = null;
    if (this.strictKex) t.inSeq = 0;
    this.kexCount++;
    if (this.firstKexDone) this.log(`key re-exchange ${this.kexCount - 1} complete`);
    else this.log(`kex ${n.kex}, host key ${n.hostKey}, cipher ${n.cipherCS}${n.macCS ? `, mac ${n.macCS}` : ""}${this.strictKex ? ", strict" : ""}; client ${this.clientSoftware.slice(0, 80)}`);
    this.firstKexDone = true;
    this.hostKeyAlgorithm = n.hostKey;
    if (this.phase === "handshake") this.phase = "auth";
    this.serverKexInit = null;
    this.clientKexInit = null;
    this.negotiated = null;
    this.kexOffer = null;
    this.lastKexAt = this.ctx.now();
    t.bytesSinceKex = 0;
    t.packetsSinceKex = 0;
    t.refreshPadding();
    t.release();
    this.flushChannels();
  }

  // ---- user authentication (RFC 4252) ----

  private onServiceRequest(payload: Uint8Array): void {
    const r = new SshReader(payload, 1);
    const service = r.text();
    if (!this.firstKexDone || service !== "ssh-userauth") {
      throw new SshError(DISCONNECT.SERVICE_NOT_AVAILABLE, `service "${service.slice(0, 40)}" is not available`);
    }
    this.userauthAccepted = true;
    this.transport.begin(MSG.SERVICE_ACCEPT).text(service);
    this.transport.send();
  }

  private onUserauth(payload: Uint8Array): void {
    if (!this.userauthAccepted || !this.sessionId) throw new SshError(DISCONNECT.PROTOCOL_ERROR, "USERAUTH_REQUEST before ssh-userauth was accepted");
    if (this.phase === "open") return; // RFC 4252 5.1: later requests are ignored
    this.auth ??= new UserAuth(this.ctx.crypto, this.ctx.auth, this.transport, this.sessionId, (l) => this.log(l), {
      source: this.source,
      wallClock: () => this.ctx.wallClock(),
    });
    const outcome = this.auth.request(payload);
    this.authFailures = this.auth.failures;
    if (outcome.kind === "success") {
      this.user = outcome.user;
      this.access = outcome.access;
      this.phase = "open";
      this.auth = null;
      this.log(`user "${outcome.user}" logged in with ${outcome.method}`);
      this.ctx.authenticated(this);
    }
  }

  // ---- connection protocol (RFC 4254) ----

  canSendData(): boolean {
    const t = this.transport;
    return t.outputReady && !t.holdNonKex && !t.closed;
  }

  release(channel: Channel): void {
    if (this.channels[channel.localId] === channel) this.channels[channel.localId] = null;
    this.sessions.delete(channel);
    channel.handler?.closed();
    channel.handler = null;
  }

  private flushChannels(): void {
    for (const ch of this.channels) {
      if (!this.canSendData()) return;
      ch?.flush();
    }
  }

  /** Sessions open on this connection, for `info`. */
  sessionList(): Session[] {
    return [...this.sessions.values()];
  }

  private channel(r: SshReader): Channel {
    const id = r.uint32();
    const ch = id < this.channels.length ? this.channels[id] : null;
    if (!ch) throw new SshError(DISCONNECT.PROTOCOL_ERROR, `message for unknown channel ${id}`);
    return ch;
  }

  private onConnectionMessage(type: number, payload: Uint8Array): void {
    const r = new SshReader(payload, 1);
    const t = this.transport;
    switch (type) {
      case MSG.GLOBAL_REQUEST: {
        const name = r.text();
        const wantReply = r.boolean();
        let ok = false;
        if (name === "no-more-sessions@openssh.com") {
          this.noMoreSessions = true;
          ok = true;
        }
        // keepalive@openssh.com and everything unknown: REQUEST_FAILURE (RFC 4254 4).
        if (wantReply) {
          t.begin(ok ? MSG.REQUEST_SUCCESS : MSG.REQUEST_FAILURE);
          t.send();
        }
        return;
      }
      case MSG.CHANNEL_OPEN:
        return this.onChannelOpen(r);
      case MSG.CHANNEL_WINDOW_ADJUST: {
        const ch = this.channel(r);
        ch.adjust(r.uint32());
        return;
      }
      case MSG.CHANNEL_DATA: {
        const ch = this.channel(r);
        const data = r.string();
        if (!ch.takeWindow(data.length)) throw new SshError(DISCONNECT.PROTOCOL_ERROR, `channel ${ch.localId}: ${data.length} bytes beyond the window`);
        if (ch.eofReceived || ch.closeSent) return ch.consume(data.length);
        if (ch.handler) ch.handler.data(data);
        else ch.consume(data.length);
        return;
      }
      case MSG.CHANNEL_EXTENDED_DATA: {
        const ch = this.channel(r);
        const code = r.uint32();
        const data = r.string();
        if (!ch.takeWindow(data.length)) throw new SshError(DISCONNECT.PROTOCOL_ERROR, `channel ${ch.localId}: ${data.length} bytes beyond the window`);
        ch.handler?.extendedData?.(code, data);
        ch.consume(data.length);
        return;
      }
      case MSG.CHANNEL_EOF: {
        const ch = this.channel(r);
        if (ch.eofReceived) return;
        ch.eofReceived = true;
        ch.handler?.peerEof();
        return;
      }
      case MSG.CHANNEL_CLOSE: {
        const ch = this.channel(r);
        ch.closeReceived = true;
        if (!ch.closeSent) ch.close();
        else this.release(ch);
        return;
      }
      case MSG.CHANNEL_REQUEST: {
        const ch = this.channel(r);
        const name = r.text();
        const wantReply = r.boolean();
        let answered = false;
        const reply = (ok: boolean) => {
          if (answered) return;
          answered = true;
          if (wantReply && !ch.closeSent) {
            t.begin(ok ? MSG.CHANNEL_SUCCESS : MSG.CHANNEL_FAILURE).uint32(ch.remoteId);
            t.send();
          }
        };
        if (ch.handler && !ch.closeSent) ch.handler.request(name, r, reply);
        reply(false);
        return;
      }
      case MSG.CHANNEL_SUCCESS:
      case MSG.CHANNEL_FAILURE:
      case MSG.REQUEST_SUCCESS:
      case MSG.REQUEST_FAILURE:
        return; // we send no requests that want a reply
      case MSG.CHANNEL_OPEN_CONFIRMATION:
      case MSG.CHANNEL_OPEN_FAILURE:
        throw new SshError(DISCONNECT.PROTOCOL_ERROR, "reply to a channel open we never sent");
      default:
        t.begin(MSG.UNIMPLEMENTED).uint32((t.inSeq - 1) >>> 0);
        t.send();
    }
  }

  private onChannelOpen(r: SshReader): void {
    const type = r.text();
    const senderId = r.uint32();
    const window = r.uint32();
    const maxPacket = r.uint32();
    const t = this.transport;
    const refuse = (code: number, text: string) => {
      t.begin(MSG.CHANNEL_OPEN_FAILURE).uint32(senderId).uint32(code).text(text).text("");
      t.send();
    };
    if (type !== "session") {
      // Forwarding exists in SSH but not on this device; other types are unknown (RFC 4254 5.1).
      if (type === "direct-tcpip" || type === "forwarded-tcpip" || type === "x11" || type === "auth-agent@openssh.com") {
        return refuse(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, `${type} channels are not allowed on this device`);
      }
      return refuse(OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE, `unknown channel type "${type.slice(0, 40)}"`);
    }
    if (this.noMoreSessions) {
      throw new SshError(DISCONNECT.PROTOCOL_ERROR, "session opened after no-more-sessions@openssh.com");
    }
    let id = this.channels.indexOf(null);
    if (id < 0) id = this.channels.length;
    if (id >= this.ctx.limits.maxChannels) {
      return refuse(OPEN_FAILURE.RESOURCE_SHORTAGE, `at most ${this.ctx.limits.maxChannels} sessions per connection`);
    }
    const l = this.ctx.limits;
    const ch = new Channel(this, type, id, senderId, window, maxPacket, l.channelWindow, l.maxChannelPacket, l.channelSendQueue);
    this.channels[id] = ch;
    const session = new Session(ch, this);
    ch.handler = session;
    this.sessions.set(ch, session);
    t.begin(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(senderId).uint32(id).uint32(l.channelWindow).uint32(l.maxChannelPacket);
    t.send();
  }
}
