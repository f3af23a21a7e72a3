// What the SSH firmware's C side gives the script beyond ECMAScript (hosts/qemu/firmware/xs_ssh.c,
// xs_net.c, xs_uart.c), typed. Bundled into hosts/qemu/main.ts; nothing here runs on node.
// (nativeCrypto and print are typed by hosts/qemu/xs/host.ts.)

/** Handlers xs_net.c calls from the event loop; ids are the connections' numbers. */
export interface NetHandlers {
  accept(id: number, address: string, port: number): void;
  readable(id: number, available: number): void;
  writable(id: number, space: number): void;
  ended(id: number): void;
  error(id: number, code: number): void;
}

export interface NativeNet {
  listen(port: number, handlers: NetHandlers): true;
  /** Copies up to buffer.length waiting bytes; -1 when the connection is gone. */
  read(id: number, buffer: Uint8Array): number;
  /** Takes what fits lwIP's send buffer (0: full); -1 when the connection is gone. */
  write(id: number, bytes: Uint8Array): number;
  writable(id: number): number;
  close(id: number): void;
  abort(id: number): void;
  stats(): NetStats;
}

export interface NetStats {
  rxFrames: number;
  txFrames: number;
  rxDropped: number;
  txDropped: number;
  connsOpen: number;
  connsTotal: number;
  connsRefused: number;
  memUsed: number;
  memMax: number;
  memSize: number;
  poolUsed: number;
  poolMax: number;
  poolSize: number;
  maxConnections: number;
}

export interface UartHandlers {
  readable(count: number): void;
  writable(): void;
}

export interface NativeUart {
  open(handlers: UartHandlers): void;
  read(buffer: Uint8Array): number;
  write(bytes: Uint8Array): number;
  /** parity: 0 none, 1 odd, 2 even. */
  setLine(baud: number, dataBits: number, parity: number, stopBits: number): void;
  setBreak(on: boolean): void;
}

export interface BoardMemory {
  chunks: number;
  chunksPeak: number;
  slots: number;
  slotsPeak: number;
  slotSize: number;
  /** malloc'd bytes in use now (XS chunks and slots, lwIP's allocations are static). */
  mallocInUse: number;
  /** High-water mark of the fixed heap region. */
  mallocPeak: number;
  heapSize: number;
  stackPeak: number;
  /** The XS stack: slots it has, and the most ever in use. */
  stack: number;
  stackPeakSlots: number;
  /** XS stack slots in use at the call (the bundle's top level holds its bindings there). */
  stackNow: number;
  /** Property names and symbols the machine has made (XS keys). */
  keys: number;
  /** XS chunks (bytes) and slots allocated at the last markPeaks() (0: never), and the most since
   * then (since boot when never marked): what one step allocates, garbage included until collected. */
  chunksAtMark: number;
  slotsAtMark: number;
  chunksPeakSinceMark: number;
  slotsPeakSinceMark: number;
}

export interface BootChoice {
  /** 0, 1, or -1 for the program linked into the image ("factory"). */
  slot: number;
  label: string;
  state: "trial" | "valid";
  version: string;
  note: string;
}

export interface NativeBoard {
  /** collect: garbage-collect first, so chunks and slots are the live figures. */
  memory(collect?: boolean): BoardMemory;
  /** Starts a new interval for the *SinceMark peaks (chunksPeak, slotsPeak stay since boot). */
  markPeaks(): void;
  /** Instructions retired since reset less idle time (exact only under -icount shift=0). */
  instructions(withIdle?: boolean): number;
  /** The authorized_keys text the run script loaded, or undefined. */
  authorizedKeys(): ArrayBuffer | undefined;
  /** True when QEMU runs without semihosting and the log took the UART. */
  logOnUart(): boolean;
  /** What the boot selector chose (firmware/boot_select.c). */
  boot(): BootChoice;
  /** Ends the firmware with EXIT_REBOOT (6): the run script boots it again. */
  reboot(): never;
  /** XS version, "13.3.0". */
  readonly xsVersion: string;
}

interface Globals {
  nativeNet?: NativeNet;
  nativeUart?: NativeUart;
  nativeBoard?: NativeBoard;
}

function need<K extends keyof Globals>(name: K): NonNullable<Globals[K]> {
  const value = (globalThis as unknown as Globals)[name];
  if (!value) throw new Error(`this XS host has no ${name}`);
  return value as NonNullable<Globals[K]>;
}

export const nativeNet = (): NativeNet => need("nativeNet");
export const nativeUart = (): NativeUart => need("nativeUart");
export const nativeBoard = (): NativeBoard => need("nativeBoard");
