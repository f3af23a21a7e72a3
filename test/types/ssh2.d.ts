// The few parts of the `ssh2` npm package (CommonJS, no bundled types; @types/ssh2 is not a
// dependency) that the tests use.

declare module "ssh2" {
  import type { EventEmitter } from "node:events";
  import type { Duplex, Readable } from "node:stream";

  export interface Algorithms {
    kex?: string[];
    serverHostKey?: string[];
    cipher?: string[];
    hmac?: string[];
    compress?: string[];
  }

  export interface ConnectConfig {
    host?: string;
    port?: number;
    username?: string;
    password?: string;
    privateKey?: string | Buffer;
    algorithms?: Algorithms;
    /** Receives the raw host key blob (no hostHash set); return true to accept. */
    hostVerifier?: (key: Buffer) => boolean;
    readyTimeout?: number;
    keepaliveInterval?: number;
    tryKeyboard?: boolean;
    debug?: (line: string) => void;
  }

  export interface PseudoTtyOptions {
    term?: string;
    rows?: number;
    cols?: number;
  }

  export interface ClientChannel extends Duplex {
    readonly stderr: Readable;
    on(event: "exit", listener: (code: number | null, signal?: string) => void): this;
    on(event: "close", listener: (...args: unknown[]) => void): this;
    on(event: "data", listener: (data: Buffer) => void): this;
    on(event: string, listener: (...args: any[]) => void): this;
  }

  export class Client extends EventEmitter {
    connect(config: ConnectConfig): this;
    exec(command: string, callback: (err: Error | undefined, channel: ClientChannel) => void): boolean;
    shell(window: PseudoTtyOptions | false, callback: (err: Error | undefined, channel: ClientChannel) => void): boolean;
    end(): this;
    destroy(): this;
  }

  const ssh2: { Client: typeof Client };
  export default ssh2;
}
