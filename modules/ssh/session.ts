// Interactive and exec sessions (RFC 4254 section 6): pty-req, env, shell, exec, subsystem,
// window-change, signal, break (RFC 4335), and the programs that serve them.

import type { Channel, ChannelHandler } from "./channel.js";
import { SshReader, utf8Encode } from "./wire.js";
import { passwordAccess, type Access } from "./access.js";

/** Environment variables a session may set (RFC 4254 6.4); more are refused. */
export const MAX_ENV_VARS = 32;
/** Longest env name + value we keep. */
export const MAX_ENV_BYTES = 1024;
/** Longest break we perform, in ms (RFC 4335 leaves the bound to the server). */
export const MAX_BREAK_MS = 3000;

/** A pty request (RFC 4254 6.2) with its encoded terminal modes decoded (section 8). */
export interface PtyRequest {
  term: string;
  cols: number;
  rows: number;
  widthPx: number;
  heightPx: number;
  /** opcode -> argument. */
  modes: Map<number, number>;
}

/** What a running program is told. All optional: a program ignores what it does not handle. */
export interface SessionProgram {
  /** Called once the request that started the program was answered: begin output here. */
  start?(): void;
  /** Input from the client: a view valid during the call. Call ctx.consume(n) once n bytes are
   * processed; until then our window does not re-open. Programs without `data` drop input. */
  data?(bytes: Uint8Array): void;
  eof?(): void;
  windowChange?(cols: number, rows: number): void;
  signal?(name: string): void;
  /** A break of `ms` milliseconds (already bounded by MAX_BREAK_MS); true if performed. */
  break?(ms: number): boolean;
  /** Output queued earlier has drained: the program may write again. */
  writable?(): void;
  /** The channel is gone; release resources. */
  closed?(): void;
}

/** Facts about the server a program may show (the `info` command). */
export interface ServerInfo {
  readonly version: string;
  readonly host: string;
  readonly startedAt: number;
  now(): number;
  /** One line per host key: its SHA256 fingerprint and type, e.g. "SHA256:... (ED25519)". */
  hostKeys(): string[];
  readonly cryptoName: string;
  /** One line per open session on the whole server. */
  sessions(): string[];
  /** The audit lines of the last logins, oldest first. */
  lastLogins(): string[];
}

export interface SessionContext {
  readonly user: string;
  readonly remote: string;
  /** What this login may do (its key's options, its certificate). */
  readonly access: Access;
  readonly pty: PtyRequest | null;
  readonly env: ReadonlyMap<string, string>;
  readonly server: ServerInfo;
  /** Writes to stdout; returns bytes taken (the rest waits for `writable`). */
  write(data: Uint8Array): number;
  /** Writes to stderr (extended data). */
  writeErr(data: Uint8Array): number;
  /** Writes text, turning "\n" into "\r\n" when a pty was requested (the client's terminal is raw). */
  print(text: string, stderr?: boolean): number;
  /** Bytes write() takes right now. */
  readonly writableBytes: number;
  /** Re-opens the window for n processed input bytes. */
  consume(n: number): void;
  /** Sends exit-status, EOF and CLOSE once all output is out. */
  exit(status: number): void;
  /** Ends like a process killed by `signal` ("INT", "TERM", ...: RFC 4254 6.10 names, no "SIG"). */
  exitSignal(signal: string): void;
  /** Sends EOF once all output is out (no more output; input may continue). */
  eof(): void;
}

/** Where sessions find their programs: device commands, the shell, subsystems. */
export interface SessionApps {
  exec(ctx: SessionContext, command: string): SessionProgram;
  shell(ctx: SessionContext): SessionProgram;
  /** null for an unknown subsystem (the request fails). */
  subsystem(ctx: SessionContext, name: string): SessionProgram | null;
}

export interface SessionOwner {
  readonly user: string;
  readonly remote: string;
  readonly access: Access | null;
  readonly server: ServerInfo;
  readonly apps: SessionApps;
  log(line: string): void;
}

export class Session implements ChannelHandler, SessionContext {
  pty: PtyRequest | null = null;
  readonly env = new Map<string, string>();
  private envBytes = 0;
  private program: SessionProgram | null = null;
  /** "shell", "exec: <cmd>" or "subsystem: <name>", for `info`. */
  kind = "";

  readonly access: Access;

  constructor(readonly channel: Channel, private readonly owner: SessionOwner) {
    // Sessions open only after authentication; a missing record would be a bug, and grants nothing.
    this.access = owner.access ?? { ...passwordAccess(owner.remote), forcedCommand: "exit 1", pty: false };
    for (const [name, value] of this.access.environment) this.env.set(name, value);
  }

  get user(): string {
    return this.owner.user;
  }
  get remote(): string {
    return this.owner.remote;
  }
  get server(): ServerInfo {
    return this.owner.server;
  }
  get writableBytes(): number {
    return this.channel.writableBytes;
  }
  write(data: Uint8Array): number {
    return this.channel.write(data, false);
  }
  writeErr(data: Uint8Array): number {
    return this.channel.write(data, true);
  }
  print(text: string, stderr = false): number {
    const t = this.pty ? text.replace(/\r?\n/g, "\r\n") : text;
    return this.channel.write(utf8Encode(t), stderr);
  }
  consume(n: number): void {
    this.channel.consume(n);
  }
  exit(status: number): void {
    this.channel.exit(status);
  }
  exitSignal(signal: string): void {
    this.channel.exitBySignal(signal);
  }
  eof(): void {
    this.channel.sendEof();
  }

  // ---- ChannelHandler ----

  data(bytes: Uint8Array): void {
    if (this.program?.data) this.program.data(bytes);
    else this.channel.consume(bytes.length);
  }
  peerEof(): void {
    this.program?.eof?.();
  }

  request(type: string, r: SshReader, reply: (ok: boolean) => void): void {
    switch (type) {
      case "pty-req": {
        if (this.program) return reply(false);
        if (!this.access.pty) {
          this.owner.log("pty refused: the key's options say no-pty or restrict (or the certificate lacks permit-pty)");
          return reply(false);
        }
        const term = r.text();
        const cols = r.uint32(), rows = r.uint32(), widthPx = r.uint32(), heightPx = r.uint32();
        this.pty = { term, cols, rows, widthPx, heightPx, modes: parseTerminalModes(r.string()) };
        return reply(true);
      }
      case "env": {
        const name = r.text();
        const value = r.text();
        const size = name.length + value.length;
        // What the key's environment= sets, the client cannot change; the role cap is never the client's.
        if (name === "SERIAL_ROLE" || this.access.environment.some((e) => e[0] === name)) return reply(false);
        if (this.env.size >= MAX_ENV_VARS || this.envBytes + size > MAX_ENV_BYTES * 4 || size > MAX_ENV_BYTES) return reply(false);
        this.env.set(name, value);
        this.envBytes += size;
        return reply(true);
      }
      case "shell":
        if (this.forced("shell")) return this.startForced(reply);
        return this.start(reply, "shell", () => this.owner.apps.shell(this));
      case "exec": {
        const command = r.text();
        if (this.forced(`exec "${command.slice(0, 120)}"`)) return this.startForced(reply);
        return this.start(reply, `exec: ${command.slice(0, 60)}`, () => this.owner.apps.exec(this, command));
      }
      case "subsystem": {
        const name = r.text();
        if (this.forced(`subsystem "${name.slice(0, 40)}"`)) return this.startForced(reply);
        return this.start(reply, `subsystem: ${name.slice(0, 40)}`, () => this.owner.apps.subsystem(this, name));
      }
      case "window-change": {
        const cols = r.uint32(), rows = r.uint32();
        if (this.pty) {
          this.pty.cols = cols;
          this.pty.rows = rows;
        }
        this.program?.windowChange?.(cols, rows);
        return reply(true);
      }
      case "signal": {
        const name = r.text();
        this.program?.signal?.(name);
        return reply(true);
      }
      case "break": {
        const ms = Math.min(r.uint32(), MAX_BREAK_MS);
        return reply(this.program?.break ? this.program.break(ms) : false);
      }
      default:
        // x11-req, auth-agent-req@openssh.com, eow@openssh.com and anything unknown: refused,
        // never a disconnect (RFC 4254 5.4).
        return reply(false);
    }
  }

  /** True when this login has a forced command (command=, force-command): what the client asked
   * for is ignored and logged, as sshd does with SSH_ORIGINAL_COMMAND. */
  private forced(asked: string): boolean {
    const forced = this.access.forcedCommand;
    if (forced === null || this.program) return false;
    this.owner.log(`forced command "${forced.slice(0, 120)}" runs; the client asked for ${asked}`);
    return true;
  }

  private startForced(reply: (ok: boolean) => void): void {
    const forced = this.access.forcedCommand!;
    this.start(reply, `forced: ${forced.slice(0, 60)}`, () => this.owner.apps.exec(this, forced));
  }

  private start(reply: (ok: boolean) => void, kind: string, make: () => SessionProgram | null): void {
    if (this.program) return reply(false);
    this.kind = kind;
    const program = make();
    if (!program) {
      this.kind = "";
      return reply(false);
    }
    this.program = program;
    // CHANNEL_SUCCESS goes out before the program's first output.
    reply(true);
    program.start?.();
  }

  writable(): void {
    this.program?.writable?.();
  }

  closed(): void {
    const p = this.program;
    this.program = null;
    p?.closed?.();
  }
}

/** Decodes encoded terminal modes (RFC 4254 section 8): (opcode byte, uint32) pairs up to TTY_OP_END
 * (0); opcodes 160-255 are undefined and stop the parsing. */
export function parseTerminalModes(encoded: Uint8Array): Map<number, number> {
  const modes = new Map<number, number>();
  const r = new SshReader(encoded);
  while (r.remaining > 0) {
    const op = r.byte();
    if (op === 0 || op >= 160) break;
    if (r.remaining < 4) break;
    modes.set(op, r.uint32());
  }
  return modes;
}
