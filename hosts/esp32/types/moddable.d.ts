// Declarations of the Moddable SDK modules the ESP32 host uses, written from the SDK's documented
// API (documentation/io/io.md, files/files.md, network/network.md, tools/manifest.md) and checked
// against its ESP32 implementations, Moddable SDK 8.2.3 (tag 8.2.3, ESP-IDF v6.0).
//
// Only what hosts/esp32 calls is declared, and every signature is one the SDK's own typings
// (typings/*.d.ts, used by mcconfig's tsc) also accept, so code that type-checks here type-checks in
// the firmware build too. Two places where the native code does more than the SDK typings say are
// noted where the host relies on them (File.write with a byte view; TCP read into a buffer).
// These files are used only by tsconfig.esp32.json; mcconfig uses the SDK's typings instead.

/** xsbug / serial console log (a global in Moddable's xs.d.ts). */
declare function trace(...values: unknown[]): void;

/** Binds a host (C) function by name; xsc only accepts a string literal argument. */
declare function native(name: string): (...args: any[]) => any;

/** A buffer of bytes: ArrayBuffer or a view of one (Moddable's global ByteBuffer). */
type ByteBuffer = ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

/** Read-only memory outside the JS heap (Moddable's global HostBuffer), e.g. a Resource. */
declare class HostBuffer {
  readonly byteLength: number;
}

declare module "mc/config" {
  /** The manifest's "config" object merged with mcconfig's `name=value` arguments (strings). */
  const config: { file: { root: string } } & Record<string, unknown>;
  export default config;
}

declare module "timer" {
  class Timer {
    private constructor();
    private brand: boolean;
    /** Calls back once after `interval` ms (then every `repeat` ms when given). */
    static set(callback: (timer: Timer) => void, interval?: number, repeat?: number): Timer;
    /** Calls back every `interval` ms. */
    static repeat(callback: (timer: Timer) => void, interval: number): Timer;
    static schedule(timer: Timer, interval?: number, repeat?: number): void;
    static clear(timer: Timer | undefined | null): void;
  }
  export default Timer;
}

declare module "time" {
  const Time: {
    /** Milliseconds since boot (monotonic). */
    readonly ticks: number;
    set(seconds: number): void;
  };
  export default Time;
}

declare module "preference" {
  /** NVS on ESP32: domain and key names up to 15 characters, values up to 4000 bytes. */
  const Preference: {
    set(domain: string, key: string, value: string | boolean | number | ArrayBuffer): void;
    get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined;
    delete(domain: string, key: string): void;
    keys(domain: string): string[];
  };
  export default Preference;
}

declare module "Resource" {
  /** A data file built into the image (manifest "data"), read from flash. */
  interface Resource extends HostBuffer {
    /** Copies bytes [begin, end) into a new ArrayBuffer in RAM. */
    slice(begin: number, end?: number): ArrayBuffer;
  }
  const Resource: {
    new (path: string): Resource;
    exists(path: string): boolean;
  };
  export default Resource;
}

declare module "file" {
  /** A file on SPIFFS (flat) or LittleFS. Errors throw Error with the file system's message. */
  export class File {
    /** Opens for reading, or for reading and writing (creating it when missing) when `write`. */
    constructor(path: string, write?: boolean);
    /** Reads `count` bytes (default: to the end) at `position` into a new ArrayBuffer or String;
     * throws "read past end of file" at or after the end. */
    read<T extends typeof ArrayBuffer | typeof String>(type: T, count?: number): T extends typeof String ? string : ArrayBuffer;
    /** Writes at `position` (the ESP32 natives also take byte views: see flash.ts). */
    write(value: ArrayBuffer | string, ...more: (ArrayBuffer | string)[]): void;
    close(): void;
    readonly length: number;
    position: number;
    /** False when it failed (no exception). */
    static delete(path: string): boolean;
    static exists(path: string): boolean;
    /** `to` is a full path or a bare name in the same directory; false when it failed. */
    static rename(from: string, to: string): boolean;
  }
  /** Entries of a directory: files have a `length`, directories none. LittleFS lists "." and "..". */
  export class Iterator {
    constructor(path: string);
    next(): { name: string; length: number } | { name: string; length: undefined } | undefined;
  }
  export class Directory {
    /** SPIFFS has no directories: both throw "failed" there. On LittleFS delete returns whether it
     * removed the (empty) directory. */
    static create(path: string): void;
    static delete(path: string): boolean | void;
  }
  export class System {
    /** maxPathLength: SPIFFS_OBJ_NAME_LEN on SPIFFS (32, NUL and the leading "/" included). */
    static config(): { maxPathLength: number };
    /** Bytes of the partition and bytes in use. */
    static info(): { used: number; total: number };
  }
}

declare module "embedded:io/socket/tcp" {
  type TCPOptions = {
    from: TCP;
    nodelay?: boolean;
    /** `bytes`: bytes waiting to be read. */
    onReadable?: (this: TCP, bytes: number) => void;
    /** `bytes`: room in lwIP's send buffer (TCP_SND_BUF, 8192 in Moddable's sdkconfig). */
    onWritable?: (this: TCP, bytes: number) => void;
    /** The connection is gone (also a clean close by the peer); after the last readable data. */
    onError?: (this: TCP) => void;
    format?: "buffer";
  };
  export default class TCP {
    constructor(options: TCPOptions);
    readonly remoteAddress: string | undefined;
    readonly remotePort: number | undefined;
    /** read(): an ArrayBuffer of everything waiting. read(buffer): fills all of buffer, which must
     * not be longer than what is waiting (else throws) and returns its length. */
    read(): number | ArrayBuffer;
    read(buffer: ByteBuffer): number;
    /** All or nothing: throws "would block" when lwIP cannot take every byte. */
    write(value: ByteBuffer): void;
    close(): void;
  }
}

declare module "embedded:io/socket/listener" {
  import type TCP from "embedded:io/socket/tcp";
  export default class Listener {
    constructor(options: { port?: number; onReadable?: (this: Listener, requests: number) => void });
    /** A connected socket without callbacks: pass it to `new TCP({from})`. */
    read(): TCP | undefined;
    readonly port: number;
  }
}

declare module "embedded:io/serial" {
  /** ESP32: always 8N1, no hardware flow control, straight onto the 128-byte FIFOs. */
  export default class Serial {
    constructor(options: {
      port: number;
      receive: number;
      transmit?: number;
      baud: number;
      /** `bytes`: bytes in the receive FIFO. */
      onReadable?: (this: Serial, bytes: number) => void;
      /** `bytes`: free room in the transmit FIFO. */
      onWritable?: (this: Serial, bytes: number) => void;
      format?: "buffer";
    });
    /** read(buffer): up to buffer's length from the FIFO; the count, or undefined when empty. */
    read(buffer: ByteBuffer): number | undefined;
    /** All or nothing: throws "output full" when the FIFO lacks room. */
    write(value: ByteBuffer): void;
    close(): void;
  }
}

declare module "embedded:io/digital" {
  export default class Digital {
    static readonly Output: number;
    constructor(options: { pin: number; mode: number });
    write(value: 0 | 1): void;
    close(): void;
  }
}

declare module "embedded:network/interface/wifi" {
  /** The ECMA-419 Wi-Fi interface (manifest_net's setup/network uses it for the first connect). */
  export default class WiFi {
    constructor(options: { onChanged?: (property: "connection" | "address") => void });
    /** 200 disconnected, 300 connecting, 400 associated, 500 has an IP address (on ESP32 once both
     * IPv4 and the IPv6 link-local address are up). */
    readonly connection: number;
    readonly address: string | undefined;
    readonly SSID: string | undefined;
    /** The station's MAC, "aa:bb:cc:dd:ee:ff". */
    readonly MAC: string | undefined;
    /** dBm of the network joined (undefined when not associated). */
    readonly RSSI: number | undefined;
    connect(options: { SSID: string; password?: string }): void;
    disconnect(): void;
    /** esp_wifi_scan_start; onFound once per access point, then onComplete. Throws "already
     * scanning" / "scan failed" (e.g. while the station is associating). */
    scan(options: { onFound: (ap: { SSID?: string; BSSID?: string; RSSI?: number; channel?: number; security?: string }) => void; onComplete?: () => void; channel?: number }): void;
    close(): void;
  }
}

declare module "sntp" {
  /** Moddable's SNTP client (modules/network/sntp/sntp.js, over the `socket` module's UDP): asks
   * `host`, retries every 5 s (5 times); callback(SNTP.time, seconds since 1970), (SNTP.retry), or
   * (SNTP.error, message), which may return the next host to try. */
  export default class SNTP {
    static readonly time: 1;
    static readonly retry: 2;
    static readonly error: -1;
    constructor(options: { host: string }, callback: (message: number, value?: number | string) => string | undefined | void);
    close(): void;
  }
}

declare module "mdns" {
  type MDNSService = { name: string; protocol: string; port: number; txt: Record<string, string> };
  /** Multicast DNS: claims HOSTNAME.local, then advertises services. */
  export default class MDNS {
    /** callback(1, "") when probing starts, (1, name) once the name is claimed; (2, name) on a
     * conflict; negative: failure. */
    constructor(options: { hostName: string }, callback?: (message: number, value?: string) => void);
    add(service: MDNSService): void;
    remove(service: MDNSService): void;
    // close() exists in mdns.js but not in the SDK's typings/mdns.d.ts: network.ts casts for it.
  }
}
