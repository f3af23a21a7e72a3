// The console through the real CLI (`npm start` = main.ts): the default simulated device, and
// `--uart pty` with the test playing the device on /dev/pts/N. OpenSSH `ssh -tt` types and reads.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { closeSync, copyFileSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { ensureTool, tempDir, waitForOutput } from "./helpers/tools.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];

after(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const f of cleanups) f();
});

async function startCli(extra: string[]) {
  ensureTool("ssh", "openssh-client");
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const key = join(tmp.path, "id");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], { timeout: 20_000 });
  copyFileSync(key + ".pub", join(tmp.path, "authorized_keys"));
  const server = spawn(process.execPath, ["--import", "tsx", "main.ts", "--listen", "127.0.0.1:0", "--data", tmp.path, ...extra], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(server);
  const out = await waitForOutput(server, (t) => /listening on 127\.0\.0\.1:\d+/.test(t) && /uart uart0: /.test(t), 20_000);
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const sshArgs = ["-p", String(port), "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-F", "/dev/null"];
  return { server, out, port, sshArgs };
}

function ssh(sshArgs: string[], extra: string[]) {
  const child = spawn("ssh", [...sshArgs, ...extra], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  return child;
}

test("npm start: ssh lands on the simulated device's prompt and talks to it", async () => {
  const { sshArgs } = await startCli([]);
  const client = ssh(sshArgs, ["-tt", "console@127.0.0.1"]);
  // The boot log and prompt come from the scrollback at once.
  await waitForOutput(client, (t) => t.includes("sim> "), 20_000);
  client.stdin!.write("echo hello device\r");
  await waitForOutput(client, (t) => t.includes("hello device\r\nsim> "), 20_000);
  client.stdin!.write("\r~B");
  await waitForOutput(client, (t) => t.includes("[break received: 1000 ms]"), 20_000);
  client.stdin!.write("\r~.");
});

test("--uart pty: typed bytes reach the program on /dev/pts/N exactly, and its output comes back", async () => {
  const { out, sshArgs } = await startCli(["--uart", "pty"]);
  const path = /uart uart0: pty (\/dev\/pts\/\d+)/.exec(out)?.[1];
  assert.ok(path, out);
  const client = ssh(sshArgs, ["-tt", "-e", "none", "console@127.0.0.1"]);
  await waitForOutput(client, (t) => t.includes("Ctrl-] ? for help"), 20_000);
  const typed = Buffer.from("AT+GMR\r\x7f\x1b[A\x00\xff ok\r", "latin1");
  // The device side: a reader on the slave that exits after exactly that many bytes.
  const reader = spawn("head", ["-c", String(typed.length), path], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(reader);
  const got: Buffer[] = [];
  reader.stdout!.on("data", (d: Buffer) => got.push(d));
  const exited = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`device side got only ${Buffer.concat(got).toString("hex")}`)), 15_000);
    reader.on("exit", () => (clearTimeout(t), resolve()));
  });
  client.stdin!.write(typed);
  await exited;
  assert.deepEqual(Buffer.concat(got), typed);
  const fd = openSync(path, "w");
  writeSync(fd, "OK from device\r\n");
  closeSync(fd);
  await waitForOutput(client, (t) => t.includes("OK from device"), 20_000);
});
