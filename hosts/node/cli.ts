// Command line of the node host.

import { parseBaud } from "../../modules/console/uart.js";
import { hostKeyKindByName } from "../../modules/ssh/hostkeys.js";
import { validAddressList } from "../../modules/ssh/access.js";
import { DEFAULT_LISTEN, parseListen, startNodeServer, type NodeServerOptions } from "./server.js";

const USAGE = `usage: npm start -- [options]
  --listen HOST:PORT        where to listen (default ${DEFAULT_LISTEN})
  --data DIR                host key, authorized_keys, password hash (default ./.data)
  --authorized-keys FILE    authorized keys (default DIR/authorized_keys)
  --uart [NAME=]SPEC        a UART to bridge; repeat for several (the first is the default).
                            SPEC: sim (simulated device, the default), pty (prints /dev/pts/N),
                            /dev/ttyUSB0 (a serial device), tcp:HOST:PORT (raw TCP serial server),
                            null (discards), none (no UART: the built-in prompt answers)
  --baud N                  default baud rate (default 115200)
  --scrollback BYTES        output replayed when a session attaches (default 16384)
  --flash-size BYTES        flash store capacity (default 1048576, a typical ESP32 partition)
  --flash-dirs              flash store with directories (LittleFS-like; default flat like SPIFFS)
  --flash-write-behind      uploads written to disk by a worker thread (off by default: slower
                            on tmpfs, see README Performance)
  --max-connections N       connections at once (default 16)
  --penalty-exempt LIST     sources never penalized for failed logins, e.g. 10.0.0.0/8,127.0.0.2
                            (as sshd's PerSourcePenaltyExemptList; default none)
  --crypto node|noble       crypto provider (default node: node:crypto, and the packet ciphers in
                            a C addon over node's OpenSSL, built on first start; without a C
                            compiler node:crypto + libsodium WebAssembly)
  --host-keys LIST          host key types to use, e.g. ecdsa,rsa (default ed25519,ecdsa,rsa: all
                            the provider can sign with; a client that knows Ed25519 gets Ed25519)
  --banner TEXT             text shown before login
  --help                    this text`;

export function parseArgs(argv: string[]): NodeServerOptions {
  const o: NodeServerOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--listen":
        o.listen = value();
        parseListen(o.listen); // a bad value is a usage error (exit 2) before anything is created
        break;
      case "--data": o.dataDir = value(); break;
      case "--authorized-keys": o.authorizedKeys = value(); break;
      case "--banner": o.banner = value(); break;
      case "--uart": {
        const v = value();
        o.uarts = v === "none" ? [] : [...(o.uarts ?? []), v];
        break;
      }
      case "--baud": {
        const v = parseBaud(value());
        if (typeof v === "string") throw new Error(`--baud: ${v}`);
        o.baud = v;
        break;
      }
      case "--flash-size": {
        const v = Number(value());
        if (!Number.isInteger(v) || v < 4096 || v > MAX_FLASH) throw new Error(`--flash-size takes 4096 to ${MAX_FLASH} bytes`);
        o.flashSize = v;
        break;
      }
      case "--flash-dirs": o.flashDirs = true; break;
      case "--flash-write-behind": o.flashWriteBehind = true; break;
      case "--max-connections": {
        const v = Number(value());
        if (!Number.isInteger(v) || v < 1 || v > MAX_CONNECTIONS) throw new Error(`--max-connections takes 1 to ${MAX_CONNECTIONS}`);
        o.limits = { ...o.limits, maxConnections: v, maxUnauthenticated: Math.min(v, 8) };
        break;
      }
      case "--penalty-exempt": {
        const v = value();
        if (!validAddressList(v, true)) throw new Error(`--penalty-exempt takes addresses, patterns or CIDR blocks, comma-separated, not "${v}"`);
        o.penaltyExempt = v;
        break;
      }
      case "--scrollback": {
        const v = Number(value());
        if (!Number.isInteger(v) || v < 0 || v > MAX_SCROLLBACK) throw new Error(`--scrollback takes 0 to ${MAX_SCROLLBACK} bytes`);
        o.scrollback = v;
        break;
      }
      case "--crypto": {
        const v = value();
        if (v !== "node" && v !== "noble") throw new Error(`--crypto takes node or noble, not "${v}"`);
        o.crypto = v;
        break;
      }
      case "--host-keys": {
        const names = value().split(",");
        o.hostKeyTypes = names.map((n) => {
          const k = hostKeyKindByName(n.trim());
          if (!k) throw new Error(`--host-keys takes ed25519, ecdsa and rsa, not "${n}"`);
          return k.type;
        });
        break;
      }
      case "--help": case "-h":
        process.stdout.write(USAGE + "\n");
        process.exit(0);
      default:
        throw new Error(`unknown option "${a}"\n${USAGE}`);
    }
  }
  o.uarts ??= ["sim"];
  return o;
}

/** Largest flash store (the node host keeps its sizes in memory; benchmarks use large ones). */
const MAX_FLASH = 16 * 2 ** 30;
/** Most connections the node host accepts at once (each costs a few KiB and a socket). */
const MAX_CONNECTIONS = 1024;
/** Largest scrollback the node host allows (it is replayed to every new session). */
const MAX_SCROLLBACK = 1 << 20;

export async function main(argv: string[]): Promise<void> {
  let options: NodeServerOptions;
  try {
    options = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  const server = await startNodeServer(options);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: closing sessions\n`);
    server.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
