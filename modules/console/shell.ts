// The built-in shell: a prompt that runs device commands. With a pty it echoes and edits the line
// (the client's terminal is raw); without one it reads commands line by line, silently.
// The UART bridge replaces it as the default `shell` program; it stays reachable for maintenance.

import type { SessionContext, SessionProgram } from "../ssh/session.js";
import type { CommandTable } from "./commands.js";

/** Longest command line the shell keeps. */
export const MAX_LINE = 1024;
const PROMPT = "esp> ";

export function builtinShell(ctx: SessionContext, table: CommandTable): SessionProgram {
  const interactive = ctx.pty !== null;
  let line = "";
  let running: SessionProgram | null = null;
  let ended = false;
  let afterCR = false;

  const prompt = () => {
    if (interactive) ctx.print(PROMPT);
  };

  // The context a command sees: output goes to our session; its exit returns to the prompt.
  const child: SessionContext = {
    user: ctx.user,
    remote: ctx.remote,
    access: ctx.access,
    pty: ctx.pty,
    env: ctx.env,
    server: ctx.server,
    write: (d) => ctx.write(d),
    writeErr: (d) => ctx.writeErr(d),
    print: (t, e) => ctx.print(t, e),
    get writableBytes() {
      return ctx.writableBytes;
    },
    consume: () => {},
    exit: () => {
      running = null;
      if (ended) ctx.exit(0);
      else prompt();
    },
    exitSignal: (name) => {
      running = null;
      ctx.print(`[${name}]\n`);
      if (ended) ctx.exit(0);
      else prompt();
    },
    eof: () => {},
  };

  const runLine = (text: string) => {
    const trimmed = text.trim();
    if (trimmed === "") return prompt();
    if (trimmed === "exit" || trimmed === "logout") {
      ended = true;
      ctx.exit(0);
      return;
    }
    running = table.run(child, trimmed);
    running.start?.();
  };

  return {
    start() {
      if (interactive) ctx.print(`esp-ssh-console ${ctx.server.version} on ${ctx.server.host}. Type 'help' for commands, 'exit' to leave.\n`);
      prompt();
    },
    data(bytes) {
      ctx.consume(bytes.length);
      for (let i = 0; i < bytes.length && !ended; i++) {
        const c = bytes[i];
        if (running) {
          if (c === 0x04 || c === 0x03) running.eof?.();
          else running.data?.(bytes.subarray(i, i + 1));
          continue;
        }
        const wasCR = afterCR;
        afterCR = c === 0x0d;
        if (c === 0x0d || c === 0x0a) {
          if (c === 0x0a && wasCR) continue; // CR LF: the CR already ended the line
          if (interactive) ctx.print("\n");
          const text = line;
          line = "";
          runLine(text);
        } else if (c === 0x7f || c === 0x08) {
          if (line.length > 0) {
            line = line.slice(0, -1);
            if (interactive) ctx.print("\b \b");
          }
        } else if (c === 0x03) {
          line = "";
          if (interactive) ctx.print("^C\n" + PROMPT);
        } else if (c === 0x04) {
          if (line === "") {
            ended = true;
            if (interactive) ctx.print("\n");
            ctx.exit(0);
          }
        } else if (c >= 0x20 && line.length < MAX_LINE) {
          const ch = String.fromCharCode(c);
          line += ch;
          if (interactive) ctx.print(ch);
        }
      }
    },
    eof() {
      ended = true;
      if (line.trim() !== "" && !running) {
        const text = line;
        line = "";
        runLine(text);
      }
      if (!running) ctx.exit(0);
    },
    writable() {
      running?.writable?.();
    },
    closed() {
      running?.closed?.();
      running = null;
    },
  };
}
