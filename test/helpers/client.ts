// A scripted SSH client for tests: the client side of the handshake, auth and sessions, with hooks to
// misbehave (bad algorithms, corrupt packets, raw bytes). Transport-agnostic: it writes through
// `send` and is fed with `feed`, so a test can drive the server over TCP or in-process byte by byte.

import { randomFillSync } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { PacketCipher } from "../../modules/ssh/cipher.js";
import { clientEphemeral, clientKexReply, clientNegotiate, sendClientKexInit, sendPublickeyRequest, sendSignedPublickey, type ClientEphemeral } from "./client-kex.js";
import { MSG } from "../../modules/ssh/messages.js";
import { Transport } from "../../modules/ssh/transport.js";
import { SshReader, SshWriter, asciiEncode, utf8Decode } from "../../modules/ssh/wire.js";
import { createNobleProvider } from "../../modules/crypto/noble.js";

export const crypto = createNobleProvider((out) => randomFillSync(out));

export interface ClientOptions {
  kex?: string[];
  hostKey?: string[];
  ciphers?: string[];
  macs?: string[];
  firstKexPacketFollows?: boolean;
  version?: string;
}

export interface Disconnect {
  reason: number;
  message: string;
}

export class ScriptedClient {
  readonly transport: Transport;
  readonly clientVersion: string;
  serverVersion = "";
  private clientKexInit: Uint8Array | null = null;
  private serverKexInit: Uint8Array | null = null;
  private ephemeral: ClientEphemeral | null = null;
  /** What the last key exchange negotiated. */
  negotiated: ReturnType<typeof clientNegotiate> | null = null;
  sessionId: Uint8Array | null = null;
  hostKeyBlob: Uint8Array | null = null;
  strict = false;
  private queue: { payload: Uint8Array; seq: number }[] = [];
  private waiters: (() => void)[] = [];
  disconnect: Disconnect | null = null;
  closed = false;
  /** Bytes that reached the client raw (before it could parse them), for negative tests. */
  raw: number[] = [];
  private pendingIn: PacketCipher | null = null;
  /** Set by negative tests to corrupt what the client sends. */
  mutateOutput: ((packet: Uint8Array) => void) | null = null;

  constructor(private readonly sendBytes: (b: Uint8Array) => void, private readonly options: ClientOptions = {}) {
    this.clientVersion = options.version ?? "SSH-2.0-scripted_test";
    this.transport = new Transport(
      {
        version: (v) => (this.serverVersion = v),
        packet: (p, seq) => this.onPacket(p, seq),
        output: (b) => {
          const copy = b.slice();
          this.mutateOutput?.(copy);
          this.sendBytes(copy);
          return true;
        },
      },
      (out) => randomFillSync(out),
    );
  }

  /** Bytes from the server. */
  feed(bytes: Uint8Array): void {
    for (const b of bytes.subarray(0, Math.max(0, 64 - this.raw.length))) this.raw.push(b);
    try {
      this.transport.receive(bytes);
    } catch (e) {
      this.closed = true;
      this.wake();
      throw e;
    }
  }

  markClosed(): void {
    this.closed = true;
    this.wake();
  }

  private onPacket(payload: Uint8Array, seq: number): void {
    const copy = payload.slice();
    if (copy[0] === MSG.DISCONNECT) {
      const r = new SshReader(copy, 1);
      this.disconnect = { reason: r.uint32(), message: r.text() };
    }
    if (copy[0] === MSG.KEX_ECDH_REPLY) this.onEcdhReply(copy);
    if (copy[0] === MSG.NEWKEYS && this.pendingIn) {
      this.transport.inCipher = this.pendingIn;
      this.pendingIn = null;
      if (this.strict) this.transport.inSeq = 0;
    }
    this.queue.push({ payload: copy, seq });
    this.wake();
  }

  private wake(): void {
    const w = this.waiters.splice(0);
    for (const f of w) f();
  }

  /** The next packet (skipping IGNORE, DEBUG and EXT_INFO unless `raw`), or throws on timeout or
   * close. */
  async next(timeoutMs = 5000, opts: { keepTransportNoise?: boolean } = {}): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0) {
        const p = this.queue.shift()!.payload;
        if (!opts.keepTransportNoise && (p[0] === MSG.IGNORE || p[0] === MSG.DEBUG || p[0] === MSG.EXT_INFO)) continue;
        return p;
      }
      if (this.closed) throw new Error(`connection closed${this.disconnect ? ` (disconnect ${this.disconnect.reason}: ${this.disconnect.message})` : ""}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a packet");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for a packet of `type`, failing on anything else. */
  async expect(type: number, timeoutMs = 5000): Promise<SshReader> {
    const p = await this.next(timeoutMs);
    if (p[0] !== type) throw new Error(`expected message ${type}, got ${p[0]}${p[0] === MSG.DISCONNECT ? ` (${this.disconnect?.message})` : ""}`);
    return new SshReader(p, 1);
  }

  /** Waits until the server disconnects or closes; returns its DISCONNECT, if any. */
  async waitClosed(timeoutMs = 5000): Promise<Disconnect | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      try {
        await this.next(Math.max(1, deadline - Date.now()));
      } catch (e) {
        if (this.closed) break;
        throw e;
      }
    }
    return this.disconnect;
  }

  send(type: number, build?: (w: SshWriter) => void): void {
    const w = this.transport.begin(type);
    build?.(w);
    this.transport.send();
  }

  // ---- handshake ----

  sendVersion(): void {
    this.sendBytes(asciiEncode(this.clientVersion + "\r\n"));
  }

  sendKexInit(): void {
    this.clientKexInit = sendClientKexInit(this.transport, crypto, this.options);
  }

  /** KEX_ECDH_INIT for the negotiated method; `publicValue` replaces the real one (bad input). */
  sendEcdhInit(publicValue?: Uint8Array): void {
    if (!publicValue) this.ephemeral = clientEphemeral(crypto, clientNegotiate(this.clientKexInit!, this.serverKexInit!).kex);
    this.send(MSG.KEX_ECDH_INIT, (w) => w.string(publicValue ?? this.ephemeral!.publicValue));
  }

  /** Version, KEXINIT, ECDH, NEWKEYS: returns when both directions are encrypted. */
  async handshake(): Promise<void> {
    this.sendVersion();
    this.sendKexInit();
    await this.kexAfterKexInitSent();
  }

  /** Version and KEXINIT out, the server's KEXINIT in: the kex method's messages come next. */
  async exchangeKexInits(): Promise<void> {
    this.sendVersion();
    this.sendKexInit();
    await this.receiveServerKexInit();
  }

  private async receiveServerKexInit(): Promise<void> {
    const kexinit = await this.expect(MSG.KEXINIT);
    this.serverKexInit = kexinit.buf.slice();
    if (!this.sessionId) {
      const r = new SshReader(this.serverKexInit, 17);
      this.strict = r.nameList().includes("kex-strict-s-v00@openssh.com") && (this.options.kex ?? ["kex-strict-c-v00@openssh.com"]).includes("kex-strict-c-v00@openssh.com");
    }
  }

  /** The rest of a key exchange once our KEXINIT is out (first kex or rekey). */
  async kexAfterKexInitSent(opts: { beforeEcdh?: () => void } = {}): Promise<void> {
    await this.receiveServerKexInit();
    opts.beforeEcdh?.();
    this.sendEcdhInit();
    await this.expect(MSG.KEX_ECDH_REPLY);
    await this.expect(MSG.NEWKEYS);
  }

  /** Processed as it arrives (not when a test awaits it): packets after the server's NEWKEYS may
   * be in the same read and need the new keys. */
  private onEcdhReply(payload: Uint8Array): void {
    const transcript = { clientVersion: this.clientVersion, serverVersion: this.serverVersion, clientKexInit: this.clientKexInit!, serverKexInit: this.serverKexInit!, ephemeral: this.ephemeral! };
    const r = clientKexReply(this.transport, crypto, payload, transcript, this.sessionId, this.strict);
    this.hostKeyBlob = r.hostKeyBlob;
    this.sessionId = r.sessionId;
    this.pendingIn = r.inCipher;
    this.negotiated = r.negotiated;
  }

  // ---- authentication ----

  async requestUserauth(): Promise<void> {
    this.send(MSG.SERVICE_REQUEST, (w) => w.text("ssh-userauth"));
    await this.expect(MSG.SERVICE_ACCEPT);
  }

  /** publickey auth with an ed25519 seed; returns the reply message number (52 success, 51 failure). */
  async authPublickey(user: string, seed: Uint8Array): Promise<number> {
    sendPublickeyRequest(this.transport, crypto, this.sessionId!, user, seed);
    const p = await this.next();
    return p[0];
  }

  /** publickey auth with any key: `sign` makes the signature blob over the signed data. */
  async authSigned(user: string, algorithm: string, blob: Uint8Array, sign: (data: Uint8Array) => Uint8Array): Promise<number> {
    sendSignedPublickey(this.transport, this.sessionId!, user, algorithm, blob, sign);
    return (await this.next())[0];
  }

  async authPassword(user: string, password: string): Promise<number> {
    this.send(MSG.USERAUTH_REQUEST, (w) => w.text(user).text("ssh-connection").text("password").boolean(false).text(password));
    return (await this.next())[0];
  }

  // ---- sessions ----

  private nextChannel = 0;

  async openSession(window = 1 << 20, maxPacket = 32768): Promise<{ local: number; remote: number; window: number }> {
    const local = this.nextChannel++;
    this.send(MSG.CHANNEL_OPEN, (w) => w.text("session").uint32(local).uint32(window).uint32(maxPacket));
    const r = await this.expect(MSG.CHANNEL_OPEN_CONFIRMATION);
    r.uint32();
    const remote = r.uint32();
    const win = r.uint32();
    return { local, remote, window: win };
  }

  /** Runs `command`, collecting stdout/stderr until CLOSE; returns them with the exit status. */
  async exec(remote: number, command: string, input?: Uint8Array): Promise<{ stdout: string; stderr: string; status: number | null; bytes: Buffer }> {
    this.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(remote).text("exec").boolean(true).text(command));
    await this.expect(MSG.CHANNEL_SUCCESS);
    if (input) {
      for (let off = 0; off < input.length; off += 32768) {
        this.send(MSG.CHANNEL_DATA, (w) => w.uint32(remote).string(input.subarray(off, off + 32768)));
      }
      this.send(MSG.CHANNEL_EOF, (w) => w.uint32(remote));
    }
    const r = await readUntil(this, remote, () => false);
    if (!r.closed) throw new Error("exec: the channel did not close");
    this.send(MSG.CHANNEL_CLOSE, (w) => w.uint32(remote));
    return { stdout: utf8Decode(r.stdout), stderr: r.stderr, status: r.status, bytes: r.stdout };
  }
}

/** Session helpers for console tests. */
export async function startShell(
  client: ScriptedClient,
  opts: { pty?: boolean; env?: Record<string, string>; window?: number; command?: string } = {},
): Promise<{ local: number; remote: number }> {
  const ch = await client.openSession(opts.window ?? 1 << 20);
  for (const [k, v] of Object.entries(opts.env ?? {})) client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("env").boolean(false).text(k).text(v));
  if (opts.pty) {
    client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("pty-req").boolean(true).text("xterm").uint32(80).uint32(24).uint32(0).uint32(0).string(Uint8Array.of(0)));
    await client.expect(MSG.CHANNEL_SUCCESS);
  }
  if (opts.command !== undefined) client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("exec").boolean(true).text(opts.command!));
  else client.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(ch.remote).text("shell").boolean(true));
  await client.expect(MSG.CHANNEL_SUCCESS);
  return ch;
}

/** Reads channel data (re-opening the window as it goes) until `done(all)` holds; bounded. Returns
 * everything read, stderr separately, and the exit status if the channel closed. */
export async function readUntil(
  client: ScriptedClient,
  remote: number,
  done: (stdout: Buffer) => boolean,
  timeoutMs = 10_000,
): Promise<{ stdout: Buffer; stderr: string; status: number | null; closed: boolean }> {
  const deadline = Date.now() + timeoutMs;
  const chunks: Buffer[] = [];
  let stdout = Buffer.alloc(0);
  let stderr = "";
  let status: number | null = null;
  while (!done(stdout)) {
    const p = await client.next(Math.max(1, deadline - Date.now()));
    const r = new SshReader(p, 1);
    if (p[0] === MSG.CHANNEL_DATA) {
      r.uint32();
      const d = r.string();
      chunks.push(Buffer.from(d));
      stdout = Buffer.concat(chunks);
      client.send(MSG.CHANNEL_WINDOW_ADJUST, (w) => w.uint32(remote).uint32(d.length));
    } else if (p[0] === MSG.CHANNEL_EXTENDED_DATA) {
      r.uint32();
      r.uint32();
      const d = r.string();
      stderr += utf8Decode(d);
      client.send(MSG.CHANNEL_WINDOW_ADJUST, (w) => w.uint32(remote).uint32(d.length));
    } else if (p[0] === MSG.CHANNEL_REQUEST) {
      r.uint32();
      if (r.text() === "exit-status") {
        r.boolean();
        status = r.uint32();
      }
    } else if (p[0] === MSG.CHANNEL_CLOSE) {
      return { stdout, stderr, status, closed: true };
    }
  }
  return { stdout, stderr, status, closed: false };
}

/** A scripted client over TCP to 127.0.0.1:port. */
export async function tcpClient(port: number, options: ClientOptions = {}): Promise<{ client: ScriptedClient; socket: Socket }> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  const client = new ScriptedClient((b) => socket.write(b), options);
  socket.on("data", (d: Buffer) => {
    try {
      client.feed(new Uint8Array(d.buffer, d.byteOffset, d.length));
    } catch {
      socket.destroy();
    }
  });
  socket.on("close", () => client.markClosed());
  socket.on("error", () => client.markClosed());
  return { client, socket };
}

/** A logged-in client with an authorized seed. */
export async function loggedIn(port: number, seed: Uint8Array, options: ClientOptions = {}): Promise<{ client: ScriptedClient; socket: Socket }> {
  const c = await tcpClient(port, options);
  await c.client.handshake();
  await c.client.requestUserauth();
  const r = await c.client.authPublickey("console", seed);
  if (r !== MSG.USERAUTH_SUCCESS) throw new Error(`login failed (${r})`);
  return c;
}
