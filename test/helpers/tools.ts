// Test support: install missing client tools via apt (never skip), temp dirs, process helpers with
// bounded timeouts.

import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

let aptUpdated = false;

/** Makes sure `binary` exists, installing Debian `pkg` when it does not (root). Throws loudly if it
 * cannot: tests needing a client never skip. */
export function ensureTool(binary: string, pkg: string): string {
  const found = spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" });
  if (found.status === 0) return found.stdout.trim();
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    execFileSync("apt-get", ["update", "-q"], { stdio: "ignore", timeout: 300_000, env });
    aptUpdated = true;
  }
  execFileSync("apt-get", ["install", "-y", "-q", pkg], { stdio: "ignore", timeout: 600_000, env });
  const again = spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" });
  if (again.status !== 0) throw new Error(`${binary} is missing and installing ${pkg} did not provide it`);
  return again.stdout.trim();
}

/** Makes sure `python` can import `module`, installing Debian `pkg` when it cannot (root). Throws
 * loudly if it still cannot. */
export function ensurePythonModule(python: string, module: string, pkg: string): void {
  const check = () => spawnSync(python, ["-c", `import ${module}`], { encoding: "utf8" }).status === 0;
  if (check()) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    execFileSync("apt-get", ["update", "-q"], { stdio: "ignore", timeout: 300_000, env });
    aptUpdated = true;
  }
  execFileSync("apt-get", ["install", "-y", "-q", "-o", "DPkg::Lock::Timeout=900", pkg], { stdio: "ignore", timeout: 900_000, env });
  if (!check()) throw new Error(`${python} cannot import ${module} and installing ${pkg} did not fix it`);
}

export function tempDir(prefix = "essh-"): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command to completion with a hard timeout; stdin from `input` (or closed). */
export function run(cmd: string, args: string[], opts: { input?: Uint8Array | string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out after ${opts.timeoutMs ?? 30_000} ms; stderr: ${err}`));
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.on("error", () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Waits until `predicate` holds on the text a child prints (stdout+stderr), with a timeout. */
export function waitForOutput(child: ChildProcess, predicate: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (d: Buffer) => {
      text += d.toString();
      if (predicate(text)) {
        cleanup();
        resolve(text);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`process exited before the expected output; got: ${text}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for output; got: ${text}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", onExit);
  });
}

/** A TCP port free on 127.0.0.1 right now (for a server started next, e.g. QEMU's host forward). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** OpenSSH client options (ssh, scp, sftp) for a throwaway server: only `key`, no known_hosts, no
 * config file, never a prompt. Add the port (-p / -P) and the target. */
export function opensshOptions(key: string, connectTimeoutS = 10): string[] {
  return [
    "-i", key,
    "-o", "IdentitiesOnly=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes",
    "-o", `ConnectTimeout=${connectTimeoutS}`,
    "-o", "LogLevel=ERROR",
    "-F", "/dev/null",
  ];
}

/** ed25519 keys made with ssh-keygen in `dir` at test time, by name: the private key's path, its public line, its SHA256 fingerprint. */
export function keyring(dir: string) {
  const keys: Record<string, string> = {};
  const keygen = (name: string): string => {
    const file = join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file], { timeout: 30_000 });
    keys[name] = file;
    return file;
  };
  const pub = (name: string): string => readFileSync(keys[name] + ".pub", "utf8").trim();
  const fingerprint = (file: string): string => execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" }).split(" ")[1];
  return { keys, keygen, pub, fingerprint };
}
