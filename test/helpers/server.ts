// A server on 127.0.0.1 with a fresh data dir and an ed25519 client key made at test time.

import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startNodeServer, type NodeServerOptions, type RunningServer } from "../../hosts/node/server.js";
import { ensureTool, opensshOptions, tempDir } from "./tools.js";

export interface TestServer {
  server: RunningServer;
  port: number;
  dir: string;
  /** OpenSSH private key file of an authorized client key. */
  clientKey: string;
  /** Log lines the server wrote. */
  logs: string[];
  /** Announcements (listening on..., generated password). */
  announced: string[];
  /** Common OpenSSH client options for this server (port, key, no known_hosts, batch). */
  sshArgs: string[];
  close(): Promise<void>;
}

/** Starts a server. By default user `console` may log in with `clientKey`; pass `password` to also
 * set a password (stored as a hash in the data dir before start). */
export async function startTestServer(options: Partial<NodeServerOptions> & { password?: string; noKeys?: boolean } = {}): Promise<TestServer> {
  ensureTool("ssh-keygen", "openssh-client");
  const tmp = tempDir();
  const dir = tmp.path;
  const clientKey = join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test-client", "-f", clientKey], { timeout: 20_000 });
  if (!options.noKeys) copyFileSync(clientKey + ".pub", join(dir, "authorized_keys"));
  if (options.password !== undefined) {
    const { hashPassword } = await import("../../modules/ssh/password.js");
    const { makeCrypto } = await import("../../hosts/node/server.js");
    writeFileSync(join(dir, "password_hash"), hashPassword(options.password, makeCrypto("node"), 1000) + "\n", { mode: 0o600 });
  }
  const logs: string[] = [];
  const announced: string[] = [];
  const server = await startNodeServer({
    listen: "127.0.0.1:0",
    dataDir: dir,
    log: (l) => logs.push(l),
    announce: (l) => announced.push(l),
    ...options,
    // Tests make many failing logins from 127.0.0.1: per-source penalties only where a test asks.
    limits: { penaltySources: 0, ...(options.limits ?? {}) },
  });
  const port = server.port;
  const sshArgs = ["-p", String(port), ...opensshOptions(clientKey)];
  return {
    server,
    port,
    dir,
    clientKey,
    logs,
    announced,
    sshArgs,
    close: async () => {
      await server.close();
      tmp.cleanup();
    },
  };
}

export function publicKeyLine(keyFile: string): string {
  return readFileSync(keyFile + ".pub", "utf8").trim();
}

/** A test server's OpenSSH options as scp and sftp take them (-P for the port; -p means something else to them). */
export function xferArgs(ts: TestServer): string[] {
  const out: string[] = [];
  for (let i = 0; i < ts.sshArgs.length; i++) {
    if (ts.sshArgs[i] === "-p") out.push("-P", ts.sshArgs[++i]);
    else out.push(ts.sshArgs[i]);
  }
  return out;
}
