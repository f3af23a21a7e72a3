// The npm `ssh2` client, promisified with bounded waits, pinned to the suite the server offers.

import { createHash } from "node:crypto";
import ssh2 from "ssh2";
import type { Algorithms, Client as ClientType, ClientChannel, ConnectConfig } from "ssh2";

const { Client } = ssh2;
export type Client = ClientType;

/** Only what the server implements: a connection that succeeds proves this suite. */
export const SUITE: Algorithms = {
  kex: ["curve25519-sha256"],
  serverHostKey: ["ssh-ed25519"],
  cipher: ["chacha20-poly1305@openssh.com"],
};

/** OpenSSH-style fingerprint of a public key blob: "SHA256:" + unpadded base64 of its SHA-256. */
export function fingerprintOfBlob(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** Connects and authenticates, or rejects (auth failure, error, or no `ready` within timeoutMs). */
export function connect(config: ConnectConfig, timeoutMs = 15_000): Promise<Client> {
  return new Promise((resolve, reject) => {
    const conn = new Client();
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`ssh2: not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.once("ready", () => {
      clearTimeout(timer);
      resolve(conn);
    });
    conn.once("error", (e: Error) => {
      clearTimeout(timer);
      conn.destroy();
      reject(e);
    });
    conn.connect({ host: "127.0.0.1", username: "console", algorithms: SUITE, readyTimeout: timeoutMs, tryKeyboard: false, ...config });
  });
}

export interface ExecResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs one command on an open connection; stdin gets `input` then EOF. */
export function exec(conn: Client, command: string, input?: Uint8Array | string, timeoutMs = 15_000): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ssh2 exec "${command}" did not finish within ${timeoutMs} ms`)), timeoutMs);
    conn.exec(command, (err, ch) => {
      if (err) {
        clearTimeout(timer);
        reject(err);
        return;
      }
      const out: Buffer[] = [];
      let errText = "";
      let code: number | null = null;
      ch.on("data", (d: Buffer) => out.push(d));
      ch.stderr.on("data", (d: Buffer) => (errText += d.toString()));
      ch.on("exit", (c: number | null) => (code = c));
      ch.on("close", () => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out), stderr: errText });
      });
      if (input !== undefined) ch.end(input);
      else ch.end();
    });
  });
}

/** Opens a shell with a pty. */
export function shell(conn: Client, term = "xterm", timeoutMs = 15_000): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ssh2 shell not opened within ${timeoutMs} ms`)), timeoutMs);
    conn.shell({ term, cols: 80, rows: 24 }, (err, ch) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(ch);
    });
  });
}

/** Records all a channel prints (from now on) and waits for text in it, each wait bounded. */
export function record(ch: ClientChannel): { text(): string; wait(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string> } {
  let text = "";
  let closed = false;
  const waiters = new Set<() => void>();
  ch.on("data", (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) w();
  });
  ch.on("close", () => {
    closed = true;
    for (const w of [...waiters]) w();
  });
  return {
    text: () => text,
    wait: (predicate, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(text)) {
            finish();
            resolve(text);
          } else if (closed) {
            finish();
            reject(new Error(`channel closed before the expected output; got: ${JSON.stringify(text)}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for channel output; got: ${JSON.stringify(text)}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
