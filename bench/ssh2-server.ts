// The npm `ssh2` peer for the benchmarks: an SSH server with the same suite as ours (curve25519-sha256,
// ssh-ed25519, chacha20-poly1305@openssh.com), one authorized ed25519 key, and just enough to run the
// suite: exec `true`, `echo ...`, `cat > /dev/null`, `cat`, a shell that swallows its input, legacy
// `scp -t` / `scp -f` for one file, and an SFTP v3 subsystem rooted in a directory (tmpfs in the bench).
// Usage: node --import tsx bench/ssh2-server.ts PORT HOSTKEY AUTHORIZED_PUBKEY ROOTDIR

import { closeSync, fstatSync, ftruncateSync, openSync, readSync, statSync, writeSync, constants as C } from "node:fs";
import { readFileSync } from "node:fs";
import { resolve, join } from "node:path";
import ssh2 from "ssh2";
import type { ServerChannel } from "ssh2";
import { onePublicKey } from "./ssh2-auth.js";

const { Server, utils } = ssh2;
const { STATUS_CODE, OPEN_MODE } = utils.sftp;

const [portText, hostKeyFile, pubKeyFile, rootDir] = process.argv.slice(2);
if (!rootDir) {
  process.stderr.write("usage: ssh2-server.ts PORT HOSTKEY AUTHORIZED_PUBKEY ROOTDIR\n");
  process.exit(2);
}
const authenticate = onePublicKey(pubKeyFile);
const root = resolve(rootDir);

/** A path the client names, inside `root` (relative ones start at root). */
function local(p: string): string {
  const full = resolve(root, p.startsWith("/") ? "." + p : p);
  if (full !== root && !full.startsWith(root + "/")) return join(root, "__outside__");
  return full;
}

function attrsOf(st: { mode: number; uid: number; gid: number; size: number; atimeMs: number; mtimeMs: number }) {
  return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
}

function execCommand(ch: ServerChannel, command: string): void {
  const done = (code: number) => {
    ch.exit(code);
    ch.end();
  };
  if (command === "true") return done(0);
  if (command.startsWith("echo ")) {
    ch.write(command.slice(5) + "\n");
    return done(0);
  }
  if (command === "cat > /dev/null") {
    ch.on("data", () => {});
    ch.on("end", () => done(0));
    return;
  }
  if (command === "cat") {
    ch.pipe(ch, { end: false });
    ch.on("end", () => done(0));
    return;
  }
  const scp = /^scp (?:-[a-zA-Z]+ )*-([tf])(?: -[a-zA-Z]+)* (?:-- )?(.+)$/.exec(command);
  if (scp) return scp[1] === "t" ? scpSink(ch, local(scp[2]), done) : scpSource(ch, local(scp[2]), done);
  ch.stderr.write(`${command}: not supported by the bench server\n`);
  done(127);
}

/** Legacy scp upload of one file (`C` lines), into `target` (a directory or a file name). */
function scpSink(ch: ServerChannel, target: string, done: (code: number) => void): void {
  let header = "";
  let fd = -1;
  let left = 0;
  let awaitingNul = false;
  ch.write("\0");
  ch.on("data", (d: Buffer) => {
    let off = 0;
    while (off < d.length) {
      if (fd >= 0 && left > 0) {
        const n = Math.min(left, d.length - off);
        writeSync(fd, d, off, n);
        left -= n;
        off += n;
        if (left === 0) awaitingNul = true;
        continue;
      }
      if (awaitingNul) {
        off++; // the sender's \0 after the data
        awaitingNul = false;
        closeSync(fd);
        fd = -1;
        ch.write("\0");
        continue;
      }
      const nl = d.indexOf(10, off);
      if (nl < 0) {
        header += d.subarray(off).toString("latin1");
        break;
      }
      header += d.subarray(off, nl).toString("latin1");
      off = nl + 1;
      const line = header;
      header = "";
      const m = /^C[0-7]{4} (\d+) (.+)$/.exec(line);
      if (m) {
        let path = target;
        try {
          if (statSync(target).isDirectory()) path = join(target, m[2]);
        } catch {}
        fd = openSync(path, "w");
        left = Number(m[1]);
        if (left === 0) awaitingNul = true;
      }
      ch.write("\0"); // T, E, D lines and C lines are all acknowledged
    }
  });
  ch.on("end", () => {
    if (fd >= 0) closeSync(fd);
    done(0);
  });
}

/** Legacy scp download of one file. */
function scpSource(ch: ServerChannel, path: string, done: (code: number) => void): void {
  let state = 0;
  let fd = -1;
  let size = 0;
  let pos = 0;
  const pump = () => {
    while (pos < size) {
      const buf = Buffer.allocUnsafe(64 * 1024); // a fresh one each time: write() may keep it queued
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      pos += n;
      if (!ch.write(buf.subarray(0, n))) {
        ch.once("drain", pump);
        return;
      }
    }
    ch.write("\0");
  };
  ch.on("data", () => {
    if (state === 0) {
      fd = openSync(path, "r");
      size = fstatSync(fd).size;
      ch.write(`C0644 ${size} ${path.split("/").pop()}\n`);
      state = 1;
    } else if (state === 1) {
      state = 2;
      pump();
    } else if (state === 2) {
      state = 3;
      closeSync(fd);
      done(0);
    }
  });
}

new Server(
  {
    hostKeys: [readFileSync(hostKeyFile)],
    algorithms: { kex: ["curve25519-sha256"], serverHostKey: ["ssh-ed25519"], cipher: ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com"] },
    debug: process.env.BENCH_SSH2_DEBUG ? (s: string) => process.stderr.write(s + "\n") : undefined,
  },
  (client) => {
    client.on("error", () => {});
    client.on("authentication", authenticate);
    client.on("ready", () => {
      client.on("session", (acceptSession) => {
        const session = acceptSession();
        session.on("pty", (accept) => accept?.());
        session.on("env", (accept) => accept?.());
        session.on("exec", (accept, _reject, info) => execCommand(accept(), info.command));
        session.on("shell", (accept) => {
          const ch = accept();
          ch.on("data", () => {});
          ch.on("end", () => {
            ch.exit(0);
            ch.end();
          });
        });
        session.on("sftp", (accept) => {
          const sftp = accept();
          const handles = new Map<number, { fd: number; dir?: string[] }>();
          let nextHandle = 1;
          const handleBuf = (n: number) => {
            const b = Buffer.alloc(4);
            b.writeUInt32BE(n);
            return b;
          };
          const fdOf = (h: Buffer) => (h.length === 4 ? handles.get(h.readUInt32BE(0)) : undefined);
          const fail = (reqid: number, e: unknown) =>
            sftp.status(reqid, (e as NodeJS.ErrnoException).code === "ENOENT" ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE, String((e as Error).message));
          sftp.on("REALPATH", (reqid, path) => {
            const p = "/" + local(path).slice(root.length).replace(/^\/+/, "");
            sftp.name(reqid, [{ filename: p, longname: p, attrs: {} as never }]);
          });
          const stat = (reqid: number, path: string) => {
            try {
              sftp.attrs(reqid, attrsOf(statSync(local(path))));
            } catch (e) {
              fail(reqid, e);
            }
          };
          sftp.on("STAT", stat);
          sftp.on("LSTAT", stat);
          sftp.on("OPEN", (reqid, filename, flags) => {
            let f = 0;
            if (flags & OPEN_MODE.WRITE) f |= flags & OPEN_MODE.READ ? C.O_RDWR : C.O_WRONLY;
            else f |= C.O_RDONLY;
            if (flags & OPEN_MODE.CREAT) f |= C.O_CREAT;
            if (flags & OPEN_MODE.TRUNC) f |= C.O_TRUNC;
            if (flags & OPEN_MODE.EXCL) f |= C.O_EXCL;
            if (flags & OPEN_MODE.APPEND) f |= C.O_APPEND;
            try {
              const fd = openSync(local(filename), f, 0o644);
              const h = nextHandle++;
              handles.set(h, { fd });
              sftp.handle(reqid, handleBuf(h));
            } catch (e) {
              fail(reqid, e);
            }
          });
          sftp.on("WRITE", (reqid, handle, offset, data) => {
            const h = fdOf(handle);
            if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE);
            writeSync(h.fd, data, 0, data.length, offset);
            sftp.status(reqid, STATUS_CODE.OK);
          });
          sftp.on("READ", (reqid, handle, offset, length) => {
            const h = fdOf(handle);
            if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE);
            const buf = Buffer.allocUnsafe(Math.min(length, 256 * 1024));
            const n = readSync(h.fd, buf, 0, buf.length, offset);
            if (n === 0) sftp.status(reqid, STATUS_CODE.EOF);
            else sftp.data(reqid, buf.subarray(0, n));
          });
          sftp.on("FSTAT", (reqid, handle) => {
            const h = fdOf(handle);
            if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE);
            sftp.attrs(reqid, attrsOf(fstatSync(h.fd)));
          });
          sftp.on("FSETSTAT", (reqid, handle, attrs) => {
            const h = fdOf(handle);
            if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE);
            if (attrs.size !== undefined) ftruncateSync(h.fd, attrs.size);
            sftp.status(reqid, STATUS_CODE.OK);
          });
          sftp.on("SETSTAT", (reqid) => sftp.status(reqid, STATUS_CODE.OK));
          sftp.on("CLOSE", (reqid, handle) => {
            const h = fdOf(handle);
            if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE);
            handles.delete(handle.readUInt32BE(0));
            if (h.fd >= 0) closeSync(h.fd);
            sftp.status(reqid, STATUS_CODE.OK);
          });
          sftp.on("OPENDIR", (reqid) => sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED));
          sftp.on("EXTENDED", (reqid) => sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED));
          // The client's EOF: answer like sshd when sftp-server exits (exit-status, then EOF/CLOSE), or
          // scp reports failure. ssh2's SFTP object has no exit(): use its protocol object.
          sftp.on("end", () => {
            const s = sftp as unknown as { _protocol: { exitStatus(id: number, code: number): void }; outgoing: { id: number; state: string } };
            if (s.outgoing.state === "open") s._protocol.exitStatus(s.outgoing.id, 0);
            sftp.end();
          });
          sftp.on("close", () => {
            for (const h of handles.values()) if (h.fd >= 0) closeSync(h.fd);
            handles.clear();
          });
        });
      });
    });
  },
).listen(Number(portText), "127.0.0.1", function (this: { address(): { port: number } }) {
  process.stdout.write(`listening on 127.0.0.1:${this.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
