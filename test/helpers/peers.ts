// Outside clients driven the same way against any of our servers (node host, QEMU firmware):
// paramiko (Debian's python3-paramiko) exec + SFTP up and down, and libssh2 through Debian's curl
// (sftp://) up and down, each with the client's own defaults.

import { run } from "./tools.js";

/** Debian's python3 (another python3 may come first on PATH, without Debian's modules). */
export const PYTHON = "/usr/bin/python3";

export interface ParamikoResult {
  out: string;
  status: number;
  cipher: string;
  mac: string;
  hostkey: string;
  names: string[];
  version: string;
}

const PARAMIKO_SCRIPT = `
import json, sys, paramiko
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect("127.0.0.1", port=int(sys.argv[1]), username="console", key_filename=sys.argv[2], look_for_keys=False, allow_agent=False, timeout=30, banner_timeout=30, auth_timeout=30)
i, o, e = c.exec_command("echo from paramiko")
out = o.read().decode(); status = o.channel.recv_exit_status()
t = c.get_transport()
s = c.open_sftp()
s.put(sys.argv[3], "paramiko.bin")
s.get("paramiko.bin", sys.argv[3] + ".back")
names = s.listdir(".")
s.remove("paramiko.bin")
s.close(); c.close()
print(json.dumps({"out": out, "status": status, "cipher": t.local_cipher, "mac": t.local_mac, "hostkey": t.host_key_type, "names": names, "version": paramiko.__version__}))
`;

/** `echo from paramiko`, then LOCAL put as paramiko.bin, got back as LOCAL.back, listed, removed. */
export async function paramikoRoundTrip(port: number, key: string, local: string, timeoutMs: number): Promise<ParamikoResult> {
  const r = await run(PYTHON, ["-c", PARAMIKO_SCRIPT, String(port), key, local], { timeoutMs });
  if (r.code !== 0) throw new Error(`paramiko exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.toString()) as ParamikoResult;
}

/** LOCAL uploaded as NAME with curl (libssh2) and downloaded again: the download's bytes. */
export async function curlSftpRoundTrip(port: number, key: string, local: string, name: string, timeoutMs: number): Promise<Buffer> {
  const url = `sftp://127.0.0.1:${port}/${name}`;
  // -k: no known_hosts here. The key pair as libssh2 takes it: private file and its .pub.
  const auth = ["-sS", "-k", "-u", "console:", "--key", key, "--pubkey", key + ".pub", "--max-time", String(Math.floor(timeoutMs / 1000) - 5)];
  const up = await run("curl", [...auth, "-T", local, url], { timeoutMs });
  if (up.code !== 0) throw new Error(`curl upload exited ${up.code}: ${up.stderr}`);
  const down = await run("curl", [...auth, url], { timeoutMs });
  if (down.code !== 0) throw new Error(`curl download exited ${down.code}: ${down.stderr}`);
  return down.stdout;
}
