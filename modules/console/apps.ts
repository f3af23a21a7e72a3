// The programs sessions run: exec -> the device command table, shell -> the built-in shell,
// subsystems from a table (sftp joins it with the flash store).

import type { SessionApps, SessionContext, SessionProgram } from "../ssh/session.js";
import { CommandTable, builtinCommands } from "./commands.js";
import { builtinShell } from "./shell.js";
import { hasRole, type Role } from "./roles.js";

export type SubsystemFactory = (ctx: SessionContext) => SessionProgram;

export class DeviceApps implements SessionApps {
  readonly commands: CommandTable;
  readonly subsystems = new Map<string, SubsystemFactory>();
  /** Least role per subsystem (sftp: admin, as the file commands). */
  readonly subsystemRoles = new Map<string, Role>();
  /** What `ssh board` without a command runs: the built-in shell until a UART bridge takes over. */
  shellProgram: (ctx: SessionContext) => SessionProgram;

  constructor(commands: CommandTable = builtinCommands(new CommandTable())) {
    this.commands = commands;
    this.shellProgram = (ctx) => builtinShell(ctx, this.commands);
  }

  exec(ctx: SessionContext, command: string): SessionProgram {
    return this.commands.run(ctx, command);
  }

  shell(ctx: SessionContext): SessionProgram {
    return this.shellProgram(ctx);
  }

  subsystem(ctx: SessionContext, name: string): SessionProgram | null {
    const make = this.subsystems.get(name);
    const role = this.subsystemRoles.get(name);
    if (make && role && !hasRole(ctx, role)) {
      ctx.print(`${name}: not allowed for this login\n`, true);
      return null;
    }
    return make ? make(ctx) : null;
  }
}
