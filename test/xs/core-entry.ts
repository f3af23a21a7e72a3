// Runs under XS (xsrun), bundled by test/xs-core.test.ts: the SSH server core in-process with the
// native crypto provider, and a client (test/xs/client.ts) in the same script. A full handshake,
// publickey login with an ed25519 key, `exec echo`, `exec cat` of CAT_BYTES, disconnect; then XS heap
// figures. Prints "step NAME MS" per step, "memory LABEL {json}" lines, and "xs-core: ok" at the end
// (any failure throws, so xsrun exits non-zero).

import { DeviceApps } from "../../modules/console/apps.js";
import { createNativeProvider } from "../../modules/crypto/native.js";
import { HostKeySet } from "../../modules/ssh/hostkeys.js";
import { ed25519PublicKeyBlob } from "../../modules/ssh/keys.js";
import { MSG } from "../../modules/ssh/messages.js";
import { SshServer } from "../../modules/ssh/server.js";
import { utf8Decode } from "../../modules/ssh/wire.js";
import { nativeHooks, print, xsrun } from "../../hosts/qemu/xs/host.js";
import { Wire, XsClient } from "./client.js";

/** Bytes the `cat` loopback carries each way: several channel packets and window adjusts. */
const CAT_BYTES = 96 * 1024;
/** The receive window per channel a board would use (the node host uses 1 MiB). */
const CHANNEL_WINDOW = 64 * 1024;

const x = xsrun();
const now = () => (x ? x.now() : Date.now());
function memory(label: string): void {
  if (!x) return;
  x.gc();
  print(`memory ${label} ${JSON.stringify(x.memory())}`);
}
let t = now();
function step(name: string): void {
  const t1 = now();
  print(`step ${name} ${(t1 - t).toFixed(2)}`);
  t = t1;
}

memory("start");
const crypto = createNativeProvider(nativeHooks());
const hostSeed = new Uint8Array(32);
const clientSeed = new Uint8Array(32);
crypto.randomBytes(hostSeed);
crypto.randomBytes(clientSeed);
const clientPublic = crypto.ed25519Public(clientSeed);
const logs: string[] = [];

const server = new SshServer({
  crypto,
  hostKeys: new HostKeySet(crypto, [{ type: "ssh-ed25519", seed: hostSeed, publicKey: crypto.ed25519Public(hostSeed) }]),
  hostName: "xsrun",
  log: (line) => logs.push(line),
  now: () => Date.now(),
  limits: { channelWindow: CHANNEL_WINDOW, maxConnections: 2, maxUnauthenticated: 1 },
  apps: new DeviceApps(),
  auth: {
    isUser: (user) => user === "console",
    authorizedKeys: () => [{ type: "ssh-ed25519", blob: ed25519PublicKeyBlob(clientPublic), publicKey: clientPublic }],
    passwordHash: () => undefined,
    verifyPassword: () => false,
    passwordEnabled: false,
  },
});
step("server");
memory("server");

/** One connection from accept to disconnect. Everything it allocates is garbage once it returns,
 * so the heap measured after it shows what a finished connection leaves behind (nothing, we hope). */
function connection(): void {
  const client: XsClient = new XsClient(crypto, (b) => wire.toServer.push(b));
  const wire = new Wire(client);
  client.pump = () => wire.pump();
  const conn = server.accept(
    {
      write: (b) => {
        wire.toClient.push(b.slice());
        return true;
      },
      close: () => {
        wire.serverClosed = true;
      },
    },
    "xs-client",
  );
  if (!conn) throw new Error("the server refused the connection");
  wire.server = conn;

  client.handshake();
  step("handshake");
  const auth = client.login("console", clientSeed);
  if (auth !== MSG.USERAUTH_SUCCESS) throw new Error(`login failed: message ${auth}; log: ${logs.join(" | ")}`);
  step("login");
  memory("logged-in");

  const echo = client.exec("echo hello from XS");
  if (utf8Decode(echo.stdout) !== "hello from XS\n" || echo.status !== 0) {
    throw new Error(`echo: got ${JSON.stringify(utf8Decode(echo.stdout))} status ${echo.status} stderr ${echo.stderr}`);
  }
  step("echo");

  // cat: input made on the fly and output checked as it comes, so the test holds none of it.
  const byteAt = (i: number) => (i * 7 + (i >> 8)) & 0xff;
  let checked = 0;
  const cat = client.exec("cat", {
    input: (offset, block) => {
      const n = Math.min(block.length, CAT_BYTES - offset);
      for (let i = 0; i < n; i++) block[i] = byteAt(offset + i);
      return n;
    },
    onData: (d) => {
      for (let i = 0; i < d.length; i++, checked++) if (d[i] !== byteAt(checked)) throw new Error(`cat: byte ${checked} differs`);
    },
  });
  if (cat.status !== 0 || cat.stdoutBytes !== CAT_BYTES) {
    throw new Error(`cat: ${cat.stdoutBytes} bytes back of ${CAT_BYTES}, status ${cat.status}, stderr ${cat.stderr}`);
  }
  step(`cat-${CAT_BYTES}`);
  memory("after-sessions");

  client.disconnect();
  if (server.connections.size !== 0) throw new Error(`${server.connections.size} connection(s) left after disconnect`);
  step("disconnect");
}

connection();
memory("end");
print(`log ${logs.join(" | ")}`);
print("xs-core: ok");
