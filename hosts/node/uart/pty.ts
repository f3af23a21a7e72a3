// `pty`: a pseudo-terminal whose slave side plays the target device. A program (or a test) opens
// the slave path (/dev/pts/N): what it writes there is device output, what we write arrives there.
//
// Node has no pty API and native addons are out, so a small python3 relay owns the pty:
//   fd 0 (stdin)   node -> relay -> pty master   (device input)
//   fd 1 (stdout)  pty master -> relay -> node   (device output)
//   fd 2 (stderr)  relay diagnostics, logged
//   fd 3           control socket: node sends "break MS" / "line BAUD BITS PARITY STOP" lines, the
//                  relay answers "path /dev/pts/N" once, then "ok ..." / "err ..." per command.
// The relay reads its stdin only when everything it read before is in the pty, so a slave side that
// does not read stops the relay, which stops node's pipe, which makes write() return 0: memory stays
// bounded end to end. The relay keeps the slave open itself, so the pty survives a program closing
// and reopening the slave.

import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync } from "node:fs";
import type { Duplex, Readable, Writable } from "node:stream";
import { formatLine, type LineSettings, type UartListener } from "../../../modules/console/uart.js";
import { checkLine, type HostUart, type UartOptions } from "./common.js";

/** The interpreter that runs the relay (on every Debian machine): the system one when present
 * (a version manager's shim on PATH only adds start-up time). */
export const PTY_PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
/** Interpreter flags: isolated (no PYTHON* variables, no user site) and no site hooks. */
const PTY_PYTHON_FLAGS = ["-I", "-S"];
/** How long the relay may take to report its slave path. */
export const PTY_START_TIMEOUT_MS = 10_000;
/** Longest control-channel line the node side accepts from the relay (it only sends short ones). */
const PTY_MAX_CONTROL_LINE = 4096;

// The relay. Its buffers: at most RELAY_CHUNK bytes each way (it reads a side only once what it read
// from there has been passed on).
const RELAY = String.raw`
import errno, os, pty, select, signal, sys, termios, threading, tty

RELAY_CHUNK = 65536  # most bytes read from one side before they are passed on
CTL_READ = 4096      # control bytes read at once (commands are short lines)
CTL = 3
link = sys.argv[1] if len(sys.argv) > 1 else ""

def on_term(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(0)
signal.signal(signal.SIGTERM, on_term)

master, slave = pty.openpty()
tty.setraw(slave, termios.TCSANOW)  # raw, no echo: bytes pass untouched both ways
path = os.ttyname(slave)
made_link = False
try:
    if link:
        tmp = link + ".tmp%d" % os.getpid()
        os.symlink(path, tmp)
        os.replace(tmp, link)
        made_link = True
    for fd in (0, 1, master):
        os.set_blocking(fd, False)
    os.write(CTL, ("path %s\n" % path).encode())

    def reply(text):
        try:
            os.write(CTL, (text.replace("\n", " ") + "\n").encode())
        except OSError:
            pass

    def send_break(ms):
        try:
            termios.tcsendbreak(master, ms)
        except OSError as e:
            reply("err break: %s" % e)

    def control(line):
        words = line.split()
        try:
            if words[:1] == ["break"] and len(words) == 2:
                threading.Thread(target=send_break, args=(int(words[1]),), daemon=True).start()
                reply("ok break %s" % words[1])
            elif words[:1] == ["line"] and len(words) == 5:
                baud, bits, parity, stop = int(words[1]), int(words[2]), words[3], int(words[4])
                speed = getattr(termios, "B%d" % baud, None)
                if speed is None:
                    raise ValueError("baud rate %d is not supported by this system's termios" % baud)
                a = termios.tcgetattr(slave)
                cflag = a[2] & ~(termios.CSIZE | termios.PARENB | termios.PARODD | termios.CSTOPB)
                cflag |= {5: termios.CS5, 6: termios.CS6, 7: termios.CS7, 8: termios.CS8}[bits]
                if parity != "none":
                    cflag |= termios.PARENB
                if parity == "odd":
                    cflag |= termios.PARODD
                if stop == 2:
                    cflag |= termios.CSTOPB
                a[2] = cflag
                a[4] = a[5] = speed
                termios.tcsetattr(slave, termios.TCSANOW, a)
                b = termios.tcgetattr(slave)
                mask = termios.CSIZE | termios.PARENB | termios.PARODD | termios.CSTOPB
                if (b[2] & mask) != (cflag & mask) or b[4] != speed or b[5] != speed:
                    raise ValueError("the pty did not keep all of the settings")
                reply("ok line %s" % " ".join(words[1:]))
            else:
                reply("err unknown command: %s" % line)
        except Exception as e:
            reply("err %s: %s" % (words[0] if words else "?", e))

    to_master = b""  # from node, not yet in the pty
    to_node = b""    # from the pty, not yet given to node
    ctl_buf = b""
    while True:
        r = [CTL]
        if not to_master:
            r.append(0)
        if not to_node:
            r.append(master)
        w = []
        if to_master:
            w.append(master)
        if to_node:
            w.append(1)
        rr, ww, _ = select.select(r, w, [])
        if master in ww:
            try:
                to_master = to_master[os.write(master, to_master):]
            except BlockingIOError:
                pass
        if 1 in ww:
            try:
                to_node = to_node[os.write(1, to_node):]
            except BlockingIOError:
                pass
        if 0 in rr:
            try:
                data = os.read(0, RELAY_CHUNK)
                if not data:
                    break  # node closed our stdin
                to_master = data
            except BlockingIOError:
                pass
        if master in rr:
            try:
                to_node = os.read(master, RELAY_CHUNK)
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno != errno.EIO:  # EIO: no slave open (cannot happen: we hold one)
                    raise
        if CTL in rr:
            data = os.read(CTL, CTL_READ)
            if not data:
                break  # node went away
            ctl_buf += data
            while b"\n" in ctl_buf:
                line, ctl_buf = ctl_buf.split(b"\n", 1)
                control(line.decode("utf-8", "replace").strip())
except (BrokenPipeError, ConnectionResetError):
    pass
finally:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if made_link:
        try:
            if os.readlink(link) == path:
                os.unlink(link)
        except OSError:
            pass
`;

/** Why a pty cannot take `l`, or null. */
function ptyCannot(l: LineSettings): string | null {
  if (l.dataBits === 8 && l.parity === "none") return null;
  return `a pty carries only 8 data bits without parity (Linux forces cs8 -parenb on ptys); ${formatLine(l)} cannot be set, though the baud rate and stop bits can`;
}

type RelayProcess = ChildProcessByStdio<Writable, Readable, Readable>;

export class PtyUart implements HostUart {
  listener: UartListener | null = null;
  private current: LineSettings;
  private running = true;
  private closing = false;
  /** child.stdin said "full": write() takes nothing until it drains. */
  private blocked = false;
  private owesWritable = false;
  /** Control commands sent, and answered by the relay. */
  private sent = 0;
  private answered = 0;
  private readonly answerWaiters: { upTo: number; resolve: () => void }[] = [];
  /** Resolves once the relay process has exited (after close(), or on its own). */
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    /** The slave side's path (/dev/pts/N): the program playing the device opens it. */
    readonly path: string,
    /** The stable symlink to `path`, when asked for. */
    readonly link: string | undefined,
    line: LineSettings,
    private readonly child: RelayProcess,
    private readonly control: Duplex,
    private readonly log: (l: string) => void,
  ) {
    this.current = { ...line };
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    child.stdout.on("data", (d: Buffer) => this.listener?.data(d));
    child.stdout.on("error", (e) => log(`${name}: pty relay output: ${e.message}`));
    child.stdin.on("drain", () => {
      this.blocked = false;
      if (this.owesWritable) {
        this.owesWritable = false;
        this.listener?.writable();
      }
    });
    child.stdin.on("error", (e) => {
      if (!this.closing) log(`${name}: pty relay input: ${e.message}`);
    });
    child.on("exit", (code, signal) => {
      this.running = false;
      for (const w of this.answerWaiters.splice(0)) w.resolve();
      if (this.closing) return;
      const detail = `pty relay exited (${signal ?? `code ${code}`})`;
      log(`${name}: ${detail}`);
      this.listener?.status(false, detail);
    });
  }

  get description(): string {
    return `pty ${this.path}`;
  }

  /** The relay's process id. */
  get relayPid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves once the relay has acted on every break and line setting sent so far (or is gone). */
  applied(): Promise<void> {
    if (this.answered >= this.sent || !this.running) return Promise.resolve();
    return new Promise((resolve) => this.answerWaiters.push({ upTo: this.sent, resolve }));
  }

  get isOpen(): boolean {
    return this.running && !this.closing;
  }

  get line(): LineSettings {
    return { ...this.current };
  }

  write(bytes: Uint8Array): number {
    if (!this.isOpen || bytes.length === 0) return 0;
    if (this.blocked) {
      this.owesWritable = true;
      return 0;
    }
    if (!this.child.stdin.write(Buffer.from(bytes))) this.blocked = true; // Buffer.from copies
    return bytes.length;
  }

  sendBreak(ms: number): void {
    if (!this.isOpen) return;
    this.command(`break ${Math.max(0, Math.round(ms))}`);
    this.log(`${this.name}: break of ${ms} ms sent on the pty master (a pty carries no break condition; the program on ${this.path} may not see it)`);
  }

  setLine(settings: LineSettings): void {
    checkLine(settings);
    const why = ptyCannot(settings);
    if (why) throw new Error(why);
    if (!this.isOpen) throw new Error(`the pty relay for ${this.path} is not running`);
    this.command(`line ${settings.baud} ${settings.dataBits} ${settings.parity} ${settings.stopBits}`);
    this.current = { ...settings };
    this.log(`${this.name}: ${this.path} set to ${formatLine(settings)}`);
  }

  /** A reply from the relay's control channel. */
  onControl(line: string): void {
    if (line.startsWith("err ")) this.log(`${this.name}: pty relay: ${line.slice(4)}`);
    if (!line.startsWith("ok ") && !line.startsWith("err ")) return;
    this.answered++;
    for (let i = this.answerWaiters.length - 1; i >= 0; i--) {
      if (this.answered >= this.answerWaiters[i].upTo) this.answerWaiters.splice(i, 1)[0].resolve();
    }
  }

  private command(text: string): void {
    this.sent++;
    this.control.write(`${text}\n`);
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.listener = null;
    this.child.stdin.destroy();
    this.control.destroy();
    if (this.running) this.child.kill("SIGTERM");
    for (const w of this.answerWaiters.splice(0)) w.resolve();
  }
}

/** Starts the relay; resolves once the slave path is known. */
export function openPty(options: UartOptions): Promise<PtyUart> {
  checkLine(options.line);
  const why = ptyCannot(options.line);
  if (why) return Promise.reject(new Error(`${options.name}: ${why}`));
  return new Promise((resolve, reject) => {
    const child = spawn(PTY_PYTHON, [...PTY_PYTHON_FLAGS, "-c", RELAY, options.link ?? ""], { stdio: ["pipe", "pipe", "pipe", "pipe"] }) as unknown as RelayProcess;
    const control = child.stdio[3] as Duplex;
    let port: PtyUart | null = null;
    let pending = "";
    let stderr = "";
    const fail = (why: string) => {
      if (port) return;
      clearTimeout(timer);
      child.kill("SIGKILL");
      control.destroy();
      reject(new Error(`${options.name}: cannot start the pty relay (${PTY_PYTHON}): ${why}${stderr ? `; stderr: ${stderr.trim()}` : ""}`));
    };
    const timer = setTimeout(() => fail(`no slave path after ${PTY_START_TIMEOUT_MS} ms`), PTY_START_TIMEOUT_MS);
    child.on("error", (e) => fail(e.message));
    child.on("exit", (code, signal) => fail(`it exited (${signal ?? `code ${code}`})`));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      if (!port) stderr += d;
      for (const l of d.split("\n")) if (l.trim()) options.log(`${options.name}: pty relay: ${l}`);
    });
    control.setEncoding("utf8");
    control.on("error", () => {}); // the relay's exit is reported through the child
    control.on("data", (d: string) => {
      pending += d;
      if (pending.length > PTY_MAX_CONTROL_LINE && !pending.includes("\n")) pending = "";
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (port) port.onControl(line);
        else if (line.startsWith("path ")) {
          clearTimeout(timer);
          port = new PtyUart(options.name, line.slice(5), options.link, options.line, child, control, options.log);
          try {
            port.setLine(options.line); // a fresh pty is 38400 8N1 raw
          } catch (e) {
            port.close();
            reject(new Error(`${options.name}: ${(e as Error).message}`));
            return;
          }
          resolve(port);
        }
      }
    });
  });
}
