// The node host's UARTs: openUart(spec) picks a backend.
//   sim            a simulated device, paced like a real line (sim.ts)
//   null           takes everything, says nothing: for benchmarks (null.ts)
//   pty            a pseudo-terminal whose slave a program opens to play the device (pty.ts)
//   /dev/…         a serial device through `serialport` (serial.ts)
//   tcp:HOST:PORT  a raw TCP serial server such as ser2net (tcp.ts)

import { openNull } from "./null.js";
import { openPty } from "./pty.js";
import { openSerial } from "./serial.js";
import { openSim } from "./sim.js";
import { openTcp } from "./tcp.js";
import type { HostUart, UartOptions } from "./common.js";

export type { HostUart, UartOptions } from "./common.js";
export { NullUart } from "./null.js";
export { PtyUart } from "./pty.js";
export { SerialUart } from "./serial.js";
export { SimUart } from "./sim.js";
export { TcpUart } from "./tcp.js";

/** Opens the UART `spec` names. Resolves once the port is usable: for pty, when its slave path is
 * known; for serial and tcp, after the first attempt (a device or server that is not there yet is
 * retried every second and reported through listener.status). Rejects for a malformed spec or a
 * pty relay that cannot start. */
export async function openUart(spec: string, options: UartOptions): Promise<HostUart> {
  if (spec === "sim") return openSim(options);
  if (spec === "null") return openNull(options);
  if (spec === "pty") return openPty(options);
  if (spec.startsWith("/dev/")) return openSerial(spec, options);
  if (spec.startsWith("tcp:")) return openTcp(spec, options);
  throw new Error(`"${spec}" is not a UART: use sim, null, pty, a device path such as /dev/ttyUSB0, or tcp:HOST:PORT`);
}
