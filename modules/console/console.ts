// The serial console: one bridge per configured UART, the login user name choosing the UART
// (`ssh uart1@board`; `console` is the first), and the device commands that go with it.

import type { SessionContext, SessionProgram } from "../ssh/session.js";
import type { DeviceApps } from "./apps.js";
import { UartBridge } from "./bridge.js";
import { fail, printAndExit } from "./commands.js";
import { builtinShell } from "./shell.js";
import type { UartPort } from "./uart.js";
import { mayReachUart, mayWriteUart, roleOf } from "./roles.js";

/** The login name that means "the first UART". */
export const DEFAULT_USER = "console";

export class SerialConsole {
  readonly bridges: UartBridge[];

  constructor(ports: UartPort[], scrollbackBytes?: number) {
    if (ports.length === 0) throw new Error("the serial console needs at least one UART");
    const names = new Set<string>();
    for (const p of ports) {
      if (names.has(p.name) || p.name === DEFAULT_USER) throw new Error(`UART name "${p.name}" is used twice or reserved`);
      names.add(p.name);
    }
    this.bridges = ports.map((p) => new UartBridge(p, scrollbackBytes));
  }

  /** Login names: "console" and each UART's name. */
  isUser(user: string): boolean {
    return user === DEFAULT_USER || this.bridges.some((b) => b.name === user);
  }

  bridgeFor(name: string): UartBridge | undefined {
    return name === DEFAULT_USER ? this.bridges[0] : this.bridges.find((b) => b.name === name);
  }

  /** May this session reach this UART (roles.ts)? */
  reaches(ctx: SessionContext, b: UartBridge): boolean {
    return mayReachUart(ctx, b.name, b === this.bridges[0], DEFAULT_USER);
  }

  /** Makes `ssh board` land on the UART and adds stty, attach, observe and cli. */
  install(apps: DeviceApps): void {
    const uartOf = (ctx: SessionContext, arg?: string) => this.bridgeFor(arg ?? ctx.user) ?? this.bridges[0];
    const denied = (ctx: SessionContext, b: UartBridge) => fail(ctx, `${b.name}: not allowed for this login`, 1);
    // A login without a command lands on its UART: read-write, or read-only for an observer.
    apps.shellProgram = (ctx) => {
      const b = uartOf(ctx);
      return this.reaches(ctx, b) ? b.attach(ctx, { readOnly: !mayWriteUart(ctx) }) : denied(ctx, b);
    };
    const t = apps.commands;
    const named = (ctx: SessionContext, args: string[], cmd: string): UartBridge | SessionProgram => {
      if (args.length > 1) return fail(ctx, `usage: ${cmd} [UART]`, 2);
      if (args.length === 1 && !this.bridgeFor(args[0])) return fail(ctx, `${cmd}: no UART "${args[0]}" (have ${this.bridges.map((b) => b.name).join(", ")})`, 1);
      const b = uartOf(ctx, args[0]);
      return this.reaches(ctx, b) ? b : denied(ctx, b);
    };
    for (const [name, readOnly, summary] of [
      ["attach", false, "attach to a UART (the default for a login without a command)"],
      ["observe", true, "attach to a UART read-only: see everything, type nothing"],
    ] as const) {
      t.register({
        name,
        summary,
        run: (ctx, args) => {
          const b = named(ctx, args, name);
          if (!(b instanceof UartBridge)) return b;
          if (!readOnly && !mayWriteUart(ctx)) return fail(ctx, `attach: this login may only observe (role ${roleOf(ctx)}); use observe`, 1);
          return b.attach(ctx, { readOnly });
        },
      });
    }
    t.register({
      name: "stty",
      summary: "show or set line settings: stty [UART] [BAUD] [FORMAT e.g. 8N1]",
      run: (ctx, args) => {
        let bridge = uartOf(ctx);
        if (args.length > 0 && this.bridgeFor(args[0]) && !/^\d/.test(args[0])) bridge = this.bridgeFor(args.shift()!)!;
        if (!this.reaches(ctx, bridge)) return denied(ctx, bridge);
        if (args.length === 0) return printAndExit(ctx, bridge.describe().join("\n") + "\n");
        if (!mayWriteUart(ctx)) return fail(ctx, `stty: this login may only observe (role ${roleOf(ctx)}); line settings unchanged`, 1);
        const error = bridge.applySettings(args);
        return error ? fail(ctx, `stty: ${error}`, 1) : printAndExit(ctx, bridge.describe()[0] + "\n");
      },
    });
    t.register({
      name: "cli",
      summary: "the device's own command prompt (instead of the UART)",
      run: (ctx) => builtinShell(ctx, t),
    });
    t.infoSections.push(() => this.bridges.flatMap((b) => b.describe()));
  }
}
