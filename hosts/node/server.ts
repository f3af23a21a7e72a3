// The node host: TCP sockets, timers and the data directory, adapted to the sans-I/O core.

import { createDevice } from "../../modules/console/device.js";
import type { OtaHost } from "../../modules/files/ota.js";
import { randomFillSync } from "node:crypto";
import { hostname } from "node:os";
import { createServer, Socket, type Server } from "node:net";
import { join } from "node:path";
import { DeviceApps } from "../../modules/console/apps.js";
import { SerialConsole } from "../../modules/console/console.js";
import { DEFAULT_LINE, type UartPort } from "../../modules/console/uart.js";
import { createNobleProvider } from "../../modules/crypto/noble.js";
import type { CryptoProvider } from "../../modules/crypto/provider.js";
import type { ServerConnection } from "../../modules/ssh/connection.js";
import { Files } from "../../modules/files/files.js";
import { DEFAULT_CAPACITY } from "../../modules/files/store.js";
import { SshServer, type ServerLimits } from "../../modules/ssh/server.js";
import { createNodeProvider, loadNodeProvider } from "./crypto_node.js";
import { tryNativeProvider } from "./crypto_native.js";
import { DirectoryFlashStore } from "./flash.js";
import { RuntimeKeys } from "../../modules/console/keys.js";
import { authorizedKeysFile, loadOrCreateHostKeys, loadOrCreatePasswordHash } from "./keystore.js";

export const DEFAULT_LISTEN = "127.0.0.1:2222";
/** A socket we closed gets this long to flush before it is destroyed. */
const CLOSE_LINGER_MS = 2000;
/** Every packet made while one chunk of socket input is handled, or while a drained socket lets the
 * channels send again, is gathered into one buffer and written with one socket write at the end of
 * that chunk (or when GATHER_BYTES are gathered). A loopback write runs the receiver's TCP stack in
 * the sender's thread, so one write per packet cost the SSH thread as much as the crypto: an SFTP
 * upload answers every 32 KiB WRITE with a 28-byte status; an SFTP download sends a 32 KiB packet per
 * READ, and OpenSSH pipelines 64 READs (socket writes were 18% of the server's samples, `node
 * --cpu-prof`, 4 x 128 MiB downloads). Not later than the end of that chunk: a window adjust held to
 * the end of the event-loop turn (setImmediate) let the client's window run dry and slowed `scp -O`. */
const GATHER_BYTES = 256 * 1024;
/** A gathered batch up to this size is copied out and its buffer kept for the next batch (status
 * answers, window adjusts); a bigger one is handed to the socket as it is and a new buffer started,
 * so bulk data is copied once (into the batch), not twice. */
const GATHER_COPY_MAX = 4096;
/** The gather buffer a connection starts with; it grows by doubling up to GATHER_BYTES while data
 * flows and starts small again after a batch is handed over, so an idle connection holds little. */
const GATHER_INITIAL = 8192;
/** Bytes one socket read takes at most: libuv's own default read size. Every connection reads into
 * the one buffer of this size (READ_BUFFER), which the core copies from at once (Transport.receive);
 * node's default gives every read a fresh 64 KiB buffer, 1 MiB of garbage per MiB uploaded, and that
 * external memory churn drove V8 into a mark-compact GC every ~13 MiB of upload (with --trace-gc: 47
 * mark-compacts in 5 x 128 MiB against npm ssh2's 1, whose decipher writes in place). */
const READ_SIZE = 65536;
const READ_BUFFER = Buffer.allocUnsafe(READ_SIZE);
/** Sockets beyond this many times the core's connection limit are closed at once (the core refuses
 * politely below it). */
const SOCKETS_PER_CONNECTION_LIMIT = 2;
/** How often connections are checked for timeouts and rekey. */
const TICK_MS = 1000;

export interface NodeServerOptions {
  listen?: string;
  dataDir?: string;
  authorizedKeys?: string;
  crypto?: "node" | "noble";
  /** A provider to use instead (embedding, tests: e.g. one that lists fewer features). */
  cryptoProvider?: CryptoProvider;
  /** Host key kinds to use (default every kind the provider can sign with: Ed25519, ECDSA, RSA). */
  hostKeyTypes?: ("ssh-ed25519" | "ecdsa-sha2-nistp256" | "ssh-rsa")[];
  limits?: Partial<ServerLimits>;
  /** Sources exempt from per-source penalties (--penalty-exempt; sshd's PerSourcePenaltyExemptList). */
  penaltyExempt?: string;
  /** Wall clock for certificates and expiry-time= (default Date.now; tests: an unset clock). */
  wallClock?: () => number | null;
  banner?: string;
  /** UARTs as NAME=SPEC or SPEC (named uart0, uart1, ...): sim, null, pty, /dev/ttyUSB0,
   * tcp:HOST:PORT. Empty list: no serial console (the built-in shell answers `ssh board`). */
  uarts?: string[];
  /** UARTs already opened by the caller (tests), used before those of `uarts`. */
  ports?: (UartPort & { close(): void })[];
  /** Default baud rate of the UARTs. */
  baud?: number;
  /** Scrollback bytes replayed on attach. */
  scrollback?: number;
  /** Flash store capacity in bytes (default 1 MiB, a typical ESP32 filesystem partition). */
  flashSize?: number;
  /** Flash store with directories (LittleFS-like) instead of flat (SPIFFS-like). */
  flashDirs?: boolean;
  /** Uploads go to disk through the write-behind worker (hosts/node/writebehind.ts). Off by default:
   * on a tmpfs data dir it measured slower (the extra copy and thread switches cost more than the
   * plain write it saves). */
  flashWriteBehind?: boolean;
  /** Largest piece of file per SFTP request (default 32 KiB; the firmware uses BOARD_TRANSFER_LENGTH). */
  transferLength?: number;
  /** Where log lines go (default: stderr with a timestamp). */
  log?: (line: string) => void;
  /** Where the start-up announcements go (default: stdout). */
  announce?: (line: string) => void;
  /** Firmware image slots (tests: an in-memory pair; the node host itself has none). */
  ota?: OtaHost;
  otaTrialMs?: number;
}

export interface RunningServer {
  readonly ssh: SshServer;
  readonly apps: DeviceApps;
  readonly console: SerialConsole | null;
  readonly files: Files;
  readonly uarts: (UartPort & { close(): void })[];
  readonly host: string;
  readonly port: number;
  readonly fingerprint: string;
  close(): Promise<void>;
}

export function parseListen(spec: string): { host: string; port: number } {
  const i = spec.lastIndexOf(":");
  const host = (i < 0 ? "127.0.0.1" : spec.slice(0, i)).replace(/^\[(.*)\]$/, "$1");
  const port = Number(i < 0 ? spec : spec.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --listen "${spec}": want HOST:PORT`);
  return { host: host || "127.0.0.1", port };
}

/** "NAME=SPEC" or "SPEC" (then named uartN). */
export function parseUartSpec(text: string, index: number): { name: string; spec: string } {
  const m = /^([A-Za-z][A-Za-z0-9_-]{0,30})=(.+)$/.exec(text);
  return m ? { name: m[1], spec: m[2] } : { name: `uart${index}`, spec: text };
}

export function makeCrypto(kind: "node" | "noble" = "node"): CryptoProvider {
  return kind === "noble" ? createNobleProvider((out) => randomFillSync(out)) : createNodeProvider();
}

/** The provider the server runs with: noble, or for "node" the packet crypto addon over node's
 * OpenSSL ("node+openssl", crypto_native.ts) when it builds and loads, else node:crypto with
 * libsodium's chacha20-poly1305 (`log` gets one line saying why). */
export async function loadCrypto(kind: "node" | "noble" = "node", log: (line: string) => void = (l) => process.stderr.write(l + "\n")): Promise<CryptoProvider> {
  if (kind === "noble") return makeCrypto("noble");
  return tryNativeProvider(log) ?? loadNodeProvider();
}

export async function startNodeServer(options: NodeServerOptions = {}): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  const announce = options.announce ?? ((line: string) => process.stdout.write(line + "\n"));
  const dataDir = options.dataDir ?? ".data";
  const crypto = options.cryptoProvider ?? (await loadCrypto(options.crypto, log));
  const hostKeys = loadOrCreateHostKeys(dataDir, crypto, log, options.hostKeyTypes);
  const keysPath = options.authorizedKeys ?? join(dataDir, "authorized_keys");
  const runtimeKeys = new RuntimeKeys(crypto, "", authorizedKeysFile(keysPath), (l) => log(`${keysPath}: ${l}`));
  const passwordHash = loadOrCreatePasswordHash(dataDir, runtimeKeys.all().length > 0, crypto, announce);
  const store = new DirectoryFlashStore(join(dataDir, "flash"), options.flashSize ?? DEFAULT_CAPACITY, options.flashDirs ?? false, options.flashWriteBehind ?? false);
  const uarts: (UartPort & { close(): void })[] = [...(options.ports ?? [])];
  try {
    const specs = options.uarts ?? [];
    // Backends load only when asked for (the serial one pulls in a native module).
    const { openUart } = specs.length > 0 ? await import("./uart/index.js") : { openUart: null };
    for (let i = 0; i < specs.length; i++) {
      const { name, spec } = parseUartSpec(specs[i], uarts.length);
      uarts.push(await openUart!(spec, { name, line: { ...DEFAULT_LINE, baud: options.baud ?? DEFAULT_LINE.baud }, log }));
    }
  } catch (e) {
    for (const u of uarts) u.close();
    throw e;
  }
  const { ssh, apps, files, serial } = createDevice({
    crypto,
    hostKeys,
    hostName: `node (${hostname()})`,
    log,
    now: () => Date.now(),
    wallClock: options.wallClock ?? (() => Date.now()),
    clockSource: () => "system",
    limits: options.limits,
    penaltyExempt: options.penaltyExempt,
    store,
    transferLength: options.transferLength,
    uarts,
    scrollback: options.scrollback,
    keys: () => runtimeKeys.all(),
    runtimeKeys,
    passwordHash,
    banner: options.banner,
    ota: options.ota,
    otaTrialMs: options.otaTrialMs,
  });

  const sockets = new Set<Socket>();
  const trimmers = new Set<() => void>();
  const tcp: Server = createServer({ pauseOnConnect: true }, (accepted) => {
    if (sockets.size >= ssh.limits.maxConnections * SOCKETS_PER_CONNECTION_LIMIT) {
      accepted.destroy();
      return;
    }
    attach(ssh, accepted, sockets, trimmers, log);
  });
  const { host, port } = parseListen(options.listen ?? DEFAULT_LISTEN);
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  tcp.on("error", (e) => log(`listener error: ${e.message}`));
  const address = tcp.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  const timer = setInterval(() => {
    ssh.tick();
    for (const trim of trimmers) trim();
  }, TICK_MS);
  timer.unref();
  announce(`listening on ${host.includes(":") ? `[${host}]` : host}:${actualPort}`);
  for (const line of ssh.hostKeyLines()) announce(`host key ${line}`);
  announce(`flash ${join(dataDir, "flash")}: ${store.capacity} bytes, ${store.used()} used, ${store.directories ? "directories" : "flat"}`);
  for (const u of uarts) announce(`uart ${u.name}: ${u.description} (ssh ${u === uarts[0] ? "console or " : ""}${u.name}@host)`);

  return {
    ssh,
    apps,
    console: serial,
    files,
    uarts,
    host,
    port: actualPort,
    fingerprint: ssh.fingerprint,
    close: async () => {
      clearInterval(timer);
      ssh.close();
      for (const u of uarts) u.close();
      // The listener's close waits for no socket (withReadBuffer takes them out of its count), so
      // the sockets' own close events are awaited; none takes longer than CLOSE_LINGER_MS.
      const open = [...sockets].map((s) => new Promise<void>((resolve) => s.once("close", () => resolve())));
      await new Promise<void>((resolve) => {
        tcp.close(() => resolve());
        for (const s of sockets) s.end();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, CLOSE_LINGER_MS).unref();
      });
      await Promise.all(open);
    },
  };
}

/** The accepted socket's handle in a Socket that reads into READ_BUFFER (node's `onread` option, which
 * net.Server does not take for the sockets it accepts), calling `receive` with a view valid during the
 * call. The accepted Socket object is dropped without closing the handle: it was created paused
 * (pauseOnConnect) and has read nothing. This takes node's internal `_handle` and the `handle`
 * constructor option that net.Server itself uses; test/openssh.test.ts fails if either changes. */
function withReadBuffer(accepted: Socket, receive: (chunk: Uint8Array) => void): Socket {
  const shell = accepted as unknown as { _handle: unknown };
  const handle = shell._handle;
  shell._handle = null;
  accepted.destroy(); // no handle: only the server's connection count and the object go
  const options = {
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array) => {
        receive(buf.subarray(0, n));
        return true;
      },
    },
  };
  return new Socket(options as ConstructorParameters<typeof Socket>[0]);
}

function attach(ssh: SshServer, accepted: Socket, sockets: Set<Socket>, trimmers: Set<() => void>, log: (l: string) => void): void {
  let batching = false;
  /** A batch ran since the last trim (about once a second). */
  let busy = false;
  let conn: ServerConnection | null = null;
  let closing = false;
  let gathered: Buffer | null = null;
  let gatheredLength = 0;
  /** Size of the next gather buffer: that of the last batch handed over (bulk data), else small. */
  let nextSize = GATHER_INITIAL;
  /** A batch buffer the socket has finished writing, kept for the next big batch (bulk output then
   * allocates nothing); let go with the first small batch. */
  let spare: Buffer | null = null;
  /** Writes out what is gathered; returns what socket.write said (false: wait for "drain"). */
  const flush = () => {
    if (gatheredLength === 0) return true;
    const n = gatheredLength;
    gatheredLength = 0;
    const buf = gathered!;
    if (n <= GATHER_COPY_MAX) {
      // A small batch: copied out; a buffer grown for bulk data is let go.
      if (buf.length > GATHER_INITIAL) gathered = null;
      nextSize = GATHER_INITIAL;
      spare = null;
      return socket.destroyed || socket.write(Buffer.from(buf.subarray(0, n)));
    }
    gathered = null; // the socket owns it until the callback
    nextSize = buf.length;
    return socket.destroyed || socket.write(buf.subarray(0, n), () => {
      if (nextSize > GATHER_INITIAL) spare = buf;
    });
  };
  /** Room for `more` gathered bytes: a bigger buffer (what is gathered moves along), or a flush. */
  const room = (more: number): boolean => {
    const want = gatheredLength + more;
    if (gathered && want <= gathered.length) return true;
    if (want > GATHER_BYTES) return false;
    let size = Math.max(nextSize, GATHER_INITIAL);
    while (size < want) size *= 2;
    size = Math.min(size, GATHER_BYTES);
    let next: Buffer;
    if (spare && spare.length >= size) {
      next = spare;
      spare = null;
    } else next = Buffer.allocUnsafe(size);
    if (gatheredLength > 0) next.set(gathered!.subarray(0, gatheredLength));
    gathered = next;
    return true;
  };
  /** Runs `work` (input handling, a drain) with its packets gathered, then writes them at once. */
  const batch = (work: () => void) => {
    batching = true;
    busy = true;
    try {
      work();
    } finally {
      batching = false;
      flush();
    }
  };
  const socket = withReadBuffer(accepted, (chunk) => batch(() => conn?.receive(chunk)));
  sockets.add(socket);
  // A quiet second gives back what bulk output grew (as Transport.trim does for the packet buffers).
  const trim = () => {
    if (!busy && gatheredLength === 0) {
      spare = null;
      if (gathered && gathered.length > GATHER_INITIAL) gathered = null;
      nextSize = GATHER_INITIAL;
    }
    busy = false;
  };
  trimmers.add(trim);
  socket.setNoDelay(true);
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  conn = ssh.accept(
    {
      write: (bytes) => {
        if (socket.destroyed || closing) return true;
        if (!batching) {
          if (gatheredLength > 0) flush();
          return socket.write(Buffer.from(bytes));
        }
        // Gathered; a packet that does not fit flushes the batch first. Once the socket wants a drain
        // the connection hears `false` and stops sending channel data, so at most GATHER_BYTES escape
        // the socket's backpressure.
        if (!room(bytes.length)) {
          const ok = flush();
          if (!room(bytes.length)) return socket.write(Buffer.from(bytes)) && ok;
        }
        gathered!.set(bytes, gatheredLength);
        gatheredLength += bytes.length;
        return !socket.writableNeedDrain;
      },
      close: () => {
        if (closing) return;
        flush();
        closing = true;
        socket.end();
        setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
      },
    },
    remote,
  );
  socket.on("drain", () => batch(() => conn?.resumeOutput()));
  socket.on("error", (e) => {
    if (!closing) log(`${remote}: socket error: ${e.message}`);
  });
  socket.on("close", () => {
    sockets.delete(socket);
    trimmers.delete(trim);
    conn?.socketClosed();
  });
}
