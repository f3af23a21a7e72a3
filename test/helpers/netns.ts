// A network namespace with a tap interface for a QEMU guest that needs to see clients from more
// than one address (QEMU's user network forwards every connection from its gateway, 10.0.2.2).
//
// The guest keeps its static address (10.0.2.15/24, hosts/qemu/net/net.h); the tap gets several
// addresses in 10.0.2.0/24, and a client bound to one of them (`ssh -b 10.0.2.3`, run inside the
// namespace with `ip netns exec`) reaches the guest from that address. Nothing touches the host's
// own network namespace: the namespace, and the tap with it, go away in cleanup(). Needs root
// (CAP_NET_ADMIN, CAP_SYS_ADMIN), /dev/net/tun and iproute2.

import { execFileSync } from "node:child_process";
import { ensureTool } from "./tools.js";

/** The guest's address on the tap (the QEMU firmware's static one). */
export const GUEST_IP = "10.0.2.15";

export interface GuestNet {
  /** The namespace's name (RunOptions.netns) and the tap's (RunOptions.tap). */
  netns: string;
  tap: string;
  /** The addresses on the tap: clients bind to them. */
  sources: readonly string[];
  /** `cmd args` run inside the namespace: ["ip", "netns", "exec", NS, cmd, ...args]. */
  wrap(cmd: string, args: string[]): [string, string[]];
  cleanup(): void;
}

const ip = (args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });

/** Makes namespace `name` with tap `tap0` holding `sources` (each /24 in 10.0.2.0/24, not .15). */
export function guestNet(name: string, sources: string[]): GuestNet {
  ensureTool("ip", "iproute2");
  const tap = "tap0";
  // A namespace left over from a killed run of the same name: start clean.
  try {
    ip(["netns", "delete", name]);
  } catch {
    // none
  }
  try {
    ip(["netns", "add", name]);
  } catch (e) {
    throw new Error(`ip netns add ${name} failed (this test needs root and network namespaces): ${(e as { stderr?: Buffer }).stderr ?? e}`);
  }
  const inNs = (args: string[]) => ip(["-n", name, ...args]);
  try {
    inNs(["link", "set", "lo", "up"]);
    inNs(["tuntap", "add", "dev", tap, "mode", "tap"]);
    for (const a of sources) inNs(["addr", "add", `${a}/24`, "dev", tap]);
    inNs(["link", "set", tap, "up"]);
  } catch (e) {
    ip(["netns", "delete", name]);
    throw new Error(`setting up ${tap} in namespace ${name} failed (needs /dev/net/tun): ${(e as { stderr?: Buffer }).stderr ?? e}`);
  }
  return {
    netns: name,
    tap,
    sources,
    wrap: (cmd, args) => ["ip", ["netns", "exec", name, cmd, ...args]],
    cleanup: () => {
      try {
        ip(["netns", "delete", name]);
      } catch {
        // already gone
      }
    },
  };
}
