// A profiling build of the QEMU SSH firmware (bench/firmware.ts --ssh-profile; hosts/qemu/build.ts
// buildSshFirmware({ profile: true }) -> build/qemu/ssh-profile.elf). Its entry, profile-main.ts,
// imports this module before main.ts, so the wrappers below are in place before the server's code
// picks up the natives; main.ts itself is unchanged and the plain image (ssh.elf) has none of this.
//
// Every guest instruction the CPU retires (nativeBoard.instructions(): idle time left out; exact
// under -icount shift=0) is charged to exactly one layer, the innermost one running:
//
//   outside   C outside any JS call: the event loop, virtio-net, lwIP's input and TCP processing,
//             XS promise jobs
//   ssh       the JS the event loop calls (nativeNet's accept/readable/writable/... handlers): SSH
//             transport (packet framing, sequence numbers), connection and channel layers, socket.ts
//   timers    setTimeout/setInterval callbacks
//   program   Session.prototype.data: the session program a channel's data goes to (SFTP's or legacy
//             scp's parsing and replies, Files' upload logic)
//   store     FlashFS's public methods (modules/files/flashfs.ts: pages, headers, CRC-32, tables)
//   flash     nativeFlash read/program/erase (xs_flash.c, pflash.c: QEMU's CFI flash)
//   crypto    every nativeCrypto hook (chacha20, poly1305, ...: libsodium, Mbed TLS)
//   net       nativeNet calls from JS (read/write/writable/close: lwIP's socket side)
//
// Each wrapped call reads the counter twice (on entry and on return) and costs XS work besides: at
// boot the image measures what one costs, inside the wrapped layer and in its caller, and prints
//   profile overhead {"fixed":[INSIDE,CALLER],"rest":[INSIDE,CALLER]}
// (fixed-arity wrappers; the generic one with a rest parameter); every layer's calls and the wrapped
// calls made from it are counted, so bench/firmware.ts takes the distortion out. The NOR flash calls
// are not wrapped (thousands per MiB): they count in "store" (bench/firmware.ts --flash-only
// --flash-split separates them). At each accept and after each connection ends (the server closes it,
// or the peer's FIN or a reset arrives) one line gives the totals since boot:
//   profile {"event":"accept"|"end","total":N,"outside":N,"ssh":N,...,"calls":{...},"nested":{...},"gc":[runs,copied]}

import { FlashFS } from "../../modules/files/flashfs.js";
import { Session } from "../../modules/ssh/session.js";
import { nativeBoard, type NativeNet, type NetHandlers } from "./natives.js";
import { print } from "./xs/host.js";

const LAYERS = ["outside", "ssh", "timers", "program", "store", "crypto", "net"] as const;
type Layer = (typeof LAYERS)[number];
/** Wrapped no-op calls the overhead is measured over. */
const CALIBRATION_CALLS = 1000;
/** FlashFS methods wrapped (its public entry points; the private ones run inside them). */
const STORE_METHODS = ["open", "stat", "list", "remove", "rename", "setTimes", "used", "readAt", "writeAt", "truncateTo", "closed"];
/** nativeNet calls JS makes, by their argument count. */
const NET_METHODS: readonly (readonly [string, number])[] = [["read", 2], ["write", 2], ["writable", 1], ["close", 1], ["abort", 1]];
/** The crypto hooks of the data path, by argument count (a fixed-arity wrapper is much cheaper in XS
 * than a rest parameter and apply); the others (key exchange, signatures) get the generic one. */
const CRYPTO_ARITY: Readonly<Record<string, number>> = { chacha20: 5, poly1305: 3 };

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

function install(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const board = nativeBoard();
  const instructions = board.instructions;
  const spent = new Float64Array(LAYERS.length);
  const calls = new Float64Array(LAYERS.length);
  /** Wrapped calls made while each layer ran (the part of a call's overhead its caller pays). */
  const nested = new Float64Array(LAYERS.length);
  let current = 0;
  let last = instructions();
  /** The store the server mounted (seen by a wrapped call), for its GC counters. */
  let store: FlashFS | null = null;

  // Wrappers: charge what ran since the last change to the layer that ran, then switch.
  const wrap = (layer: Layer, f: AnyFunction, arity = -1): AnyFunction => {
    const index = LAYERS.indexOf(layer);
    if (arity < 0 || arity > 5) {
      return function (this: unknown, ...args: unknown[]) {
        const t = instructions();
        spent[current] += t - last;
        const outer = current;
        nested[outer]++;
        current = index;
        calls[index]++;
        last = t;
        try {
          return f.apply(this, args);
        } finally {
          const u = instructions();
          spent[current] += u - last;
          current = outer;
          last = u;
        }
      };
    }
    return function (this: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown) {
      const t = instructions();
      spent[current] += t - last;
      const outer = current;
      nested[outer]++;
      current = index;
      calls[index]++;
      last = t;
      try {
        return arity <= 1 ? f.call(this, a) : arity <= 3 ? f.call(this, a, b, c) : f.call(this, a, b, c, d, e);
      } finally {
        const u = instructions();
        spent[current] += u - last;
        current = outer;
        last = u;
      }
    };
  };
  const wrapMethods = (layer: Layer, obj: object, names: readonly string[], arity = -1) => {
    const o = obj as Record<string, unknown>;
    for (const name of names) if (typeof o[name] === "function") o[name] = wrap(layer, o[name] as AnyFunction, arity);
  };

  /** What one wrapped call of a no-op costs beyond the call itself: [inside, caller's share]
   * (charged to the wrapped layer, between the two counter reads, and to the layer that called). */
  const calibrate = (arity: number): [number, number] => {
    const f = () => 0;
    const inner = LAYERS.indexOf("timers"); // nothing runs there at boot
    const w = wrap("timers", f, arity);
    const t0 = instructions();
    for (let i = 0; i < CALIBRATION_CALLS; i++) f();
    const t1 = instructions();
    const before = spent[inner];
    for (let i = 0; i < CALIBRATION_CALLS; i++) w();
    const t2 = instructions();
    const inside = (spent[inner] - before) / CALIBRATION_CALLS - (t1 - t0) / CALIBRATION_CALLS;
    const all = (t2 - t1 - (t1 - t0)) / CALIBRATION_CALLS;
    spent[inner] = before;
    calls[inner] -= CALIBRATION_CALLS;
    nested[current] -= CALIBRATION_CALLS;
    return [Math.round(inside), Math.round(all - inside)];
  };
  const [fixedIn, fixedOut] = calibrate(3), [restIn, restOut] = calibrate(-1);
  print(`profile overhead {"fixed":[${fixedIn},${fixedOut}],"rest":[${restIn},${restOut}]}`);

  const report = (event: string) => {
    const t = instructions();
    spent[current] += t - last;
    last = t;
    const out: Record<string, unknown> = { event, total: t };
    const counts: Record<string, number> = {}, inner: Record<string, number> = {};
    LAYERS.forEach((name, i) => {
      out[name] = Math.round(spent[i]);
      counts[name] = calls[i];
      inner[name] = nested[i];
    });
    out.calls = counts;
    out.nested = inner;
    const s = store?.stats;
    out.gc = s ? [s.gcRuns, s.gcCopied] : [0, 0];
    print(`profile ${JSON.stringify(out)}`);
  };

  // The store: its public methods (the NOR flash natives run inside them).
  const proto = FlashFS.prototype as unknown as Record<string, unknown>;
  for (const name of STORE_METHODS) {
    const w = wrap("store", proto[name] as AnyFunction, 3);
    proto[name] = function (this: FlashFS, a?: unknown, b?: unknown, c?: unknown) {
      store = this;
      return w.call(this, a, b, c);
    };
  }

  // Session programs (SFTP, scp, ...): what a channel's data goes through above the SSH layers.
  const sessionProto = Session.prototype as unknown as Record<string, unknown>;
  sessionProto.data = wrap("program", sessionProto.data as AnyFunction, 1);

  // Crypto: every hook.
  const hooks = g.nativeCrypto as Record<string, unknown>;
  for (const name of Object.keys(hooks)) wrapMethods("crypto", hooks, [name], CRYPTO_ARITY[name] ?? -1);

  // The network: calls into lwIP from JS, and the event loop's calls into JS.
  const net = g.nativeNet as NativeNet;
  for (const [name, arity] of NET_METHODS) wrapMethods("net", net, [name], arity);
  for (const name of ["close", "abort"] as const) {
    const f = net[name];
    net[name] = (id: number) => {
      f.call(net, id);
      report("end");
    };
  }
  const listen = net.listen;
  net.listen = (port: number, handlers: NetHandlers) => {
    wrapMethods("ssh", handlers, ["accept", "readable", "writable", "ended", "error"], 3);
    const accept = handlers.accept, ended = handlers.ended, error = handlers.error;
    handlers.accept = (id, address, remotePort) => {
      report("accept");
      accept(id, address, remotePort);
    };
    handlers.ended = (id) => {
      ended(id);
      report("end");
    };
    handlers.error = (id, code) => {
      error(id, code);
      report("end");
    };
    return listen.call(net, port, handlers);
  };

  // Timers.
  for (const name of ["setTimeout", "setInterval"]) {
    const set = g[name] as (cb: AnyFunction, ms?: number, ...args: unknown[]) => number;
    g[name] = (cb: AnyFunction, ms?: number, ...args: unknown[]) => set(wrap("timers", cb), ms, ...args);
  }
}

install();
