// The programs sessions run: exec -> the device command table, shell -> the built-in shell,
// subsystems from a table (sftp joins it with the flash store).

import type { SessionApps, SessionContext, SessionProgram } from "../ssh/session.js";
import { CommandTable, builtinCommands } from "./commands.js";
import { builtinShell } from "./shell.js";

export type SubsystemFactory = (ctx: SessionContext) => SessionProgram;

export class DeviceApps implements SessionApps {
  readonly commands: CommandTable;
  readonly subsystems = new Map<string, SubsystemFactory>();

  constructor(commands: CommandTable = builtinCommands(new CommandTable())) {
    this.commands = commands;
  }

  exec(ctx: SessionContext, command: string): SessionProgram {
    return this.commands.run(ctx, command);
  }

  shell(ctx: SessionContext): SessionProgram {
    return builtinShell(ctx, this.commands);
  }

  subsystem(ctx: SessionContext, name: string): SessionProgram | null {
    const make = this.subsystems.get(name);
    return make ? make(ctx) : null;
  }
}
