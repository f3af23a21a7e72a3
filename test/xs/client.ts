// A synchronous, sans-I/O SSH client for tests that run under XS (no node imports, no timers): the
// client half of test/helpers/client.ts's ScriptedClient (curve25519-sha256, ssh-ed25519,
// chacha20-poly1305@openssh.com, strict kex, publickey auth, exec sessions), driven by a caller
// that moves bytes between it and a server connection in the same process (see Wire).

import type { CryptoProvider } from "../../modules/crypto/provider.js";
import { MSG } from "../../modules/ssh/messages.js";
import { Transport } from "../../modules/ssh/transport.js";
import { SshReader, SshWriter, asciiEncode, concatBytes, utf8Decode } from "../../modules/ssh/wire.js";

import { clientEphemeral, clientKexReply, sendClientKexInit, sendPublickeyRequest, type ClientEphemeral } from "../helpers/client-kex.js";
import type { PacketCipher } from "../../modules/ssh/cipher.js";

/** Both directions of an in-process connection, and a pump that runs until nothing moves. */
export class Wire {
  toServer: Uint8Array[] = [];
  toClient: Uint8Array[] = [];
  serverClosed = false;
  /** The server side; set once the connection exists (it writes its version as it is accepted). */
  server: { receive(b: Uint8Array): void } | null = null;
  constructor(private readonly client: { feed(b: Uint8Array): void }) {}
  /** Delivers queued bytes both ways until neither side has anything more to say. */
  pump(): void {
    for (let rounds = 0; this.toServer.length > 0 || this.toClient.length > 0; rounds++) {
      if (rounds > 100_000) throw new Error("the wire never went quiet");
      for (const b of this.toServer.splice(0)) this.server!.receive(b);
      for (const b of this.toClient.splice(0)) this.client.feed(b);
    }
  }
}

export interface ExecResult {
  /** What came on stdout, unless an onData callback took it. */
  stdout: Uint8Array;
  /** Bytes that came on stdout. */
  stdoutBytes: number;
  stderr: string;
  status: number | null;
}

export interface ExecOptions {
  /** Input to send (then EOF): fills `block` with the bytes at `offset`, returns how many (0: done).
   * A generator rather than a buffer, so a test can stream more than it keeps in the heap. */
  input?: (offset: number, block: Uint8Array) => number;
  /** Takes stdout as it arrives (a view valid during the call) instead of collecting it. */
  onData?: (data: Uint8Array) => void;
}

export class XsClient {
  readonly transport: Transport;
  readonly version = "SSH-2.0-xs_test_client";
  serverVersion = "";
  private clientKexInit: Uint8Array | null = null;
  private serverKexInit: Uint8Array | null = null;
  private ephemeral: ClientEphemeral | null = null;
  private sessionId: Uint8Array | null = null;
  private pendingIn: PacketCipher | null = null;
  private strict = false;
  private readonly queue: Uint8Array[] = [];
  private nextChannel = 0;
  /** Called to get packets moving (the Wire's pump). */
  pump: () => void = () => {};

  constructor(private readonly crypto: CryptoProvider, private readonly sendBytes: (b: Uint8Array) => void) {
    this.transport = new Transport(
      {
        version: (v) => (this.serverVersion = v),
        packet: (p) => this.onPacket(p),
        output: (b) => {
          this.sendBytes(b.slice());
          return true;
        },
      },
      (out) => crypto.randomBytes(out),
    );
  }

  feed(bytes: Uint8Array): void {
    this.transport.receive(bytes);
  }

  private onPacket(payload: Uint8Array): void {
    const copy = payload.slice();
    if (copy[0] === MSG.KEX_ECDH_REPLY) this.onEcdhReply(copy);
    if (copy[0] === MSG.NEWKEYS && this.pendingIn) {
      this.transport.inCipher = this.pendingIn;
      this.pendingIn = null;
      if (this.strict) this.transport.inSeq = 0;
    }
    this.queue.push(copy);
  }

  /** The next packet that is not transport noise (IGNORE, DEBUG, EXT_INFO, a global request). */
  next(): Uint8Array {
    for (;;) {
      if (this.queue.length === 0) this.pump();
      const p = this.queue.shift();
      if (!p) throw new Error("no packet from the server");
      if (p[0] === MSG.IGNORE || p[0] === MSG.DEBUG || p[0] === MSG.EXT_INFO || p[0] === MSG.GLOBAL_REQUEST) continue;
      if (p[0] === MSG.DISCONNECT) {
        const r = new SshReader(p, 1);
        r.uint32();
        throw new Error(`server disconnected: ${r.text()}`);
      }
      return p;
    }
  }

  expect(type: number): SshReader {
    const p = this.next();
    if (p[0] !== type) throw new Error(`expected message ${type}, got ${p[0]}`);
    return new SshReader(p, 1);
  }

  send(type: number, build?: (w: SshWriter) => void): void {
    const w = this.transport.begin(type);
    build?.(w);
    this.transport.send();
  }

  /** Version, KEXINIT, ECDH, NEWKEYS: returns once both directions are encrypted. */
  handshake(): void {
    this.sendBytes(asciiEncode(this.version + "\r\n"));
    this.clientKexInit = sendClientKexInit(this.transport, this.crypto);
    const kexinit = this.expect(MSG.KEXINIT);
    this.serverKexInit = kexinit.buf.slice();
    this.strict = new SshReader(this.serverKexInit, 17).nameList().includes("kex-strict-s-v00@openssh.com");
    this.ephemeral = clientEphemeral(this.crypto, "curve25519-sha256");
    this.send(MSG.KEX_ECDH_INIT, (x) => x.string(this.ephemeral!.publicValue));
    this.expect(MSG.KEX_ECDH_REPLY);
    this.expect(MSG.NEWKEYS);
  }

  /** Verifies the server's signature of the exchange hash and switches our output to the new keys
   * (done as the packet arrives: the server's NEWKEYS and encrypted packets may follow at once). */
  private onEcdhReply(payload: Uint8Array): void {
    const transcript = { clientVersion: this.version, serverVersion: this.serverVersion, clientKexInit: this.clientKexInit!, serverKexInit: this.serverKexInit!, ephemeral: this.ephemeral! };
    const r = clientKexReply(this.transport, this.crypto, payload, transcript, this.sessionId, this.strict);
    this.sessionId = r.sessionId;
    this.pendingIn = r.inCipher;
  }

  /** ssh-userauth, then publickey with an ed25519 seed; returns the reply (52 success, 51 failure). */
  login(user: string, seed: Uint8Array): number {
    const c = this.crypto;
    this.send(MSG.SERVICE_REQUEST, (w) => w.text("ssh-userauth"));
    this.expect(MSG.SERVICE_ACCEPT);
    sendPublickeyRequest(this.transport, c, this.sessionId!, user, seed);
    return this.next()[0];
  }

  /** Opens a session channel, runs `command` with the input (then EOF), and reads until CLOSE. */
  exec(command: string, opts: ExecOptions = {}): ExecResult {
    const local = this.nextChannel++;
    this.send(MSG.CHANNEL_OPEN, (w) => w.text("session").uint32(local).uint32(1 << 20).uint32(32768));
    const r = this.expect(MSG.CHANNEL_OPEN_CONFIRMATION);
    r.uint32();
    const remote = r.uint32();
    this.send(MSG.CHANNEL_REQUEST, (w) => w.uint32(remote).text("exec").boolean(true).text(command));
    this.expect(MSG.CHANNEL_SUCCESS);
    const chunks: Uint8Array[] = [];
    let stdoutBytes = 0;
    const takeData = (d: Uint8Array) => {
      stdoutBytes += d.length;
      if (opts.onData) opts.onData(d);
      else chunks.push(d.slice());
      this.send(MSG.CHANNEL_WINDOW_ADJUST, (w) => w.uint32(remote).uint32(d.length));
    };
    if (opts.input) {
      const block = new Uint8Array(32768);
      for (let off = 0, n = 0; (n = opts.input(off, block)) > 0; off += n) {
        this.send(MSG.CHANNEL_DATA, (w) => w.uint32(remote).string(block.subarray(0, n)));
        this.pump(); // let the server answer as it goes, as a real peer would
        // Take what came back now, so neither side holds more than a window of it.
        for (let i = 0; i < this.queue.length; ) {
          const p = this.queue[i];
          if (p[0] === MSG.CHANNEL_DATA) {
            this.queue.splice(i, 1);
            const pr = new SshReader(p, 1);
            pr.uint32();
            takeData(pr.string());
          } else i++;
        }
      }
      this.send(MSG.CHANNEL_EOF, (w) => w.uint32(remote));
    }
    let stderr = "";
    let status: number | null = null;
    for (;;) {
      const p = this.next();
      const pr = new SshReader(p, 1);
      if (p[0] === MSG.CHANNEL_DATA) {
        pr.uint32();
        takeData(pr.string());
      } else if (p[0] === MSG.CHANNEL_EXTENDED_DATA) {
        pr.uint32();
        pr.uint32();
        const d = pr.string();
        stderr += utf8Decode(d);
        this.send(MSG.CHANNEL_WINDOW_ADJUST, (w) => w.uint32(remote).uint32(d.length));
      } else if (p[0] === MSG.CHANNEL_REQUEST) {
        pr.uint32();
        if (pr.text() === "exit-status") {
          pr.boolean();
          status = pr.uint32();
        }
      } else if (p[0] === MSG.CHANNEL_CLOSE) {
        this.send(MSG.CHANNEL_CLOSE, (w) => w.uint32(remote));
        this.pump();
        return { stdout: concatBytes(...chunks), stdoutBytes, stderr, status };
      } else if (p[0] !== MSG.CHANNEL_EOF && p[0] !== MSG.CHANNEL_WINDOW_ADJUST) {
        throw new Error(`unexpected message ${p[0]} in a session`);
      }
    }
  }

  /** Says goodbye (SSH_MSG_DISCONNECT, by application). */
  disconnect(): void {
    this.send(MSG.DISCONNECT, (w) => w.uint32(11).text("bye").text(""));
    this.pump();
  }
}
