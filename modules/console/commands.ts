// Device commands run over `exec` (and from the built-in shell): a table later modules extend
// (`stty` for the UART, `ls`/`df`/`rm`/`mv` for the flash store).

import type { SessionContext, SessionProgram } from "../ssh/session.js";
import { hasRole, roleOf, type Role } from "./roles.js";

export interface Command {
  readonly name: string;
  /** One line for `help`. */
  readonly summary: string;
  /** Makes the program for one run; it starts writing in its start(). */
  run(ctx: SessionContext, args: string[]): SessionProgram;
  /** The least role that may run it (roles.ts); default: any login. */
  readonly role?: Role;
}

/** Exit status when the login's role does not allow a command. */
export const EXIT_NOT_ALLOWED = 126;

/** Exit status for an unknown command, as POSIX shells use. */
export const EXIT_NOT_FOUND = 127;
/** Input `cat` holds when output cannot leave as fast as input arrives. The channel window bounds
 * what a client may send unacknowledged, so this is only a sanity cap on top. */
export const CAT_MAX_HELD = 4 << 20;

export class CommandTable {
  private readonly commands = new Map<string, Command>();
  /** Extra lines for `info`, from modules that add state (UARTs, the flash store). */
  readonly infoSections: (() => string[])[] = [];

  register(command: Command): this {
    this.commands.set(command.name, command);
    return this;
  }

  /** Sets the least role for already registered commands (e.g. the file commands: admin). */
  requireRole(names: readonly string[], role: Role): this {
    for (const n of names) {
      const c = this.commands.get(n);
      if (c) this.commands.set(n, { ...c, role });
    }
    return this;
  }

  get(name: string): Command | undefined {
    return this.commands.get(name);
  }

  list(): Command[] {
    return [...this.commands.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The program for a command line: the named command, or one that reports it unknown (127). */
  run(ctx: SessionContext, line: string): SessionProgram {
    const args = splitArgs(line);
    if (args === null) return fail(ctx, "unterminated quote", 2);
    if (args.length === 0) return fail(ctx, "empty command; try 'help'", EXIT_NOT_FOUND);
    const command = this.commands.get(args[0]);
    if (!command) return fail(ctx, `${args[0]}: command not found; try 'help'`, EXIT_NOT_FOUND);
    if (command.role && !hasRole(ctx, command.role)) return fail(ctx, `${args[0]}: not allowed for this login (role ${roleOf(ctx)}; needs ${command.role})`, EXIT_NOT_ALLOWED);
    return command.run(ctx, args.slice(1));
  }
}

/** A program that prints an error on stderr and exits with `status`. */
export function fail(ctx: SessionContext, message: string, status: number): SessionProgram {
  return {
    start() {
      ctx.print(`${message}\n`, true);
      ctx.exit(status);
    },
  };
}

/** A program that prints `text` and exits 0. */
export function printAndExit(ctx: SessionContext, text: string): SessionProgram {
  return {
    start() {
      ctx.print(text);
      ctx.exit(0);
    },
  };
}

/** Splits a command line like a POSIX shell does for words: blanks separate, '...' and "..." quote,
 * backslash escapes. Returns null for an unterminated quote. */
export function splitArgs(line: string): string[] | null {
  const args: string[] = [];
  let cur = "";
  let inWord = false;
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = "";
      else if (c === "\\" && quote === '"' && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === "\\")) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) args.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return null;
  if (inWord) args.push(cur);
  return args;
}

function formatUptime(ms: number): string {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${d ? `${d}d ` : ""}${h}h ${m}m ${s}s`;
}

/** The built-in commands: help, info, echo, cat. */
export function builtinCommands(table: CommandTable): CommandTable {
  table.register({
    name: "help",
    summary: "list the commands",
    run: (ctx) => printAndExit(ctx, table.list().map((c) => `${c.name.padEnd(8)} ${c.summary}\n`).join("")),
  });
  table.register({
    name: "info",
    summary: "version, host, uptime, sessions, host key fingerprints",
    run: (ctx) => {
      const s = ctx.server;
      const sessions = s.sessions();
      const lines = [
        `esp-ssh-console ${s.version}`,
        `host: ${s.host}`,
        `uptime: ${formatUptime(s.now() - s.startedAt)}`,
        `crypto: ${s.cryptoName}`,
        ...s.hostKeys().map((k) => `host key: ${k}`),
        `sessions: ${sessions.length}`,
        ...sessions.map((l) => `  ${l}`),
        ...table.infoSections.flatMap((section) => section()),
        // Who logged in is for the owner's eyes.
        ...(hasRole(ctx, "admin") ? ["last logins:", ...s.lastLogins().map((l) => `  ${l}`)] : []),
      ];
      return printAndExit(ctx, lines.join("\n") + "\n");
    },
  });
  table.register({
    name: "exit",
    summary: "end with status 0 (or the one given)",
    run: (ctx, args) => ({
      start() {
        const n = args.length > 0 ? Number(args[0]) : 0;
        ctx.exit(Number.isInteger(n) && n >= 0 && n <= 255 ? n : 2);
      },
    }),
  });
  table.register({
    name: "echo",
    summary: "print the arguments",
    run: (ctx, args) => printAndExit(ctx, args.join(" ") + "\n"),
  });
  table.register({
    name: "cat",
    summary: "copy input to output until end of input (a loopback test of the link)",
    run: (ctx, args) => (args.length === 0 ? catLoopback(ctx) : fail(ctx, "cat: files come with the flash store; with no argument cat copies its input", 1)),
  });
  return table;
}

/** `cat` with no file: input goes back out byte for byte. Input is acknowledged (our window
 * re-opened) only once its bytes were taken for sending, so a client that does not read its output
 * stalls its own input instead of growing our memory. */
export function catLoopback(ctx: SessionContext): SessionProgram {
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  let ended = false;
  const pump = () => {
    while (held.length > 0) {
      const chunk = held[0];
      const n = ctx.write(chunk);
      if (n > 0) ctx.consume(n);
      heldBytes -= n;
      if (n < chunk.length) {
        held[0] = chunk.subarray(n);
        return;
      }
      held.shift();
    }
    if (ended) ctx.exit(0);
  };
  return {
    data(bytes) {
      if (held.length === 0) {
        const n = ctx.write(bytes);
        if (n > 0) ctx.consume(n);
        if (n === bytes.length) return;
        bytes = bytes.subarray(n);
      }
      if (heldBytes + bytes.length > CAT_MAX_HELD) {
        ctx.print("cat: input overran its buffer\n", true);
        ctx.exit(1);
        return;
      }
      held.push(bytes.slice());
      heldBytes += bytes.length;
    },
    eof() {
      ended = true;
      pump();
    },
    signal(name) {
      // As a process would: INT, TERM, HUP and KILL end cat; other signals are ignored.
      if (name === "INT" || name === "TERM" || name === "HUP" || name === "KILL") ctx.exitSignal(name);
    },
    writable: pump,
  };
}
