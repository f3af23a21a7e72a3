// Device commands for the flash store: ls, df, rm, mv, cat NAME; and the hooks for scp and sftp.

import type { DeviceApps } from "../console/apps.js";
import { catLoopback, fail, printAndExit } from "../console/commands.js";
import type { SessionContext, SessionProgram } from "../ssh/session.js";
import { joinPath, resolvePath, type Files } from "./files.js";
import { scpCommand } from "./scp.js";
import { sftpServer, type KeysFile } from "./sftp.js";
import { StoreError, TIME_SET_AFTER_S } from "./store.js";

/** Bytes `cat NAME` reads per step (it writes only as fast as the channel takes). */
const CAT_CHUNK = 4096;

/** What a StoreError looks like to a person. */
export function describeError(e: unknown): string {
  if (e instanceof StoreError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

function guard(ctx: SessionContext, name: string, fn: () => SessionProgram): SessionProgram {
  try {
    return fn();
  } catch (e) {
    return fail(ctx, `${name}: ${describeError(e)}`, 1);
  }
}

/** `keysFile`: the authorized keys SFTP shows at .ssh/authorized_keys (ssh-copy-id -s). */
export function installFiles(apps: DeviceApps, files: Files, keysFile?: KeysFile): void {
  const t = apps.commands;
  apps.subsystems.set("sftp", (ctx) => sftpServer(ctx, files, keysFile));
  t.register({ name: "scp", summary: "file copy (run by the scp client: scp -O ...)", run: (ctx, args) => scpCommand(ctx, args, files) });
  t.register({
    name: "ls",
    summary: "list files: ls [-l] [DIR]",
    run: (ctx, args) =>
      guard(ctx, "ls", () => {
        const long = args[0] === "-l";
        if (long) args = args.slice(1);
        const dir = resolvePath(files.store, args[0] ?? "");
        const st = files.stat(dir);
        if (!st) return fail(ctx, `ls: ${args[0]}: no such file or directory`, 1);
        const entries = st.isDirectory ? files.list(dir) : [st];
        // A time from before the clock was set is no time: say so instead of showing 1970.
        const when = (t: number) => (t >= TIME_SET_AFTER_S ? new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") : "clock not set".padEnd(16));
        const lines = entries.map((s) => (long ? `${s.isDirectory ? "d" : "-"} ${String(s.size).padStart(9)}  ${when(s.mtime)}  ${s.name}` : s.name + (s.isDirectory ? "/" : "")));
        return printAndExit(ctx, lines.length ? lines.join("\n") + "\n" : "");
      }),
  });
  t.register({
    name: "df",
    summary: "flash capacity, used and free bytes",
    run: (ctx) => {
      const u = files.usage();
      const pct = u.capacity ? Math.round((u.used * 100) / u.capacity) : 0;
      return printAndExit(ctx, `flash: ${u.capacity} bytes, ${u.used} used (${pct}%), ${u.free} free; ${files.store.directories ? "directories" : "flat"}, names up to ${files.store.maxNameLength} bytes\n`);
    },
  });
  t.register({
    name: "rm",
    summary: "remove files: rm NAME...",
    run: (ctx, args) =>
      guard(ctx, "rm", () => {
        if (args.length === 0) return fail(ctx, "usage: rm NAME...", 2);
        for (const a of args) {
          const p = resolvePath(files.store, a);
          const s = files.stat(p);
          if (!s || p === "") return fail(ctx, `rm: ${a}: no such file`, 1);
          if (s.isDirectory) files.store.rmdir(p);
          else files.store.remove(p);
        }
        return printAndExit(ctx, "");
      }),
  });
  t.register({
    name: "mv",
    summary: "rename: mv FROM TO",
    run: (ctx, args) =>
      guard(ctx, "mv", () => {
        if (args.length !== 2) return fail(ctx, "usage: mv FROM TO", 2);
        const from = resolvePath(files.store, args[0]);
        let to = resolvePath(files.store, args[1]);
        if (!files.stat(from) || from === "") return fail(ctx, `mv: ${args[0]}: no such file`, 1);
        const dest = files.stat(to);
        if (dest?.isDirectory) to = joinPath(to, from.slice(from.lastIndexOf("/") + 1));
        files.store.rename(from, to);
        return printAndExit(ctx, "");
      }),
  });
  t.register({
    name: "cat",
    summary: "print a file: cat NAME (no NAME: copy input to output, a loopback test)",
    run: (ctx, args) => {
      if (args.length === 0) return catLoopback(ctx);
      if (args.length > 1) return fail(ctx, "usage: cat [NAME]", 2);
      return guard(ctx, "cat", () => {
        const handle = files.openRead(resolvePath(files.store, args[0]));
        const buf = new Uint8Array(CAT_CHUNK);
        let offset = 0;
        let pending: Uint8Array | null = null;
        let done = false;
        const finish = (status: number) => {
          if (done) return;
          done = true;
          files.closeRead(handle);
          ctx.exit(status);
        };
        const pump = () => {
          if (done) return; // writable() after the end: the handle is closed
          try {
            for (;;) {
              if (!pending) {
                const n = handle.read(offset, buf);
                if (n === 0) return finish(0);
                offset += n;
                pending = buf.subarray(0, n);
              }
              const w: number = ctx.write(pending);
              if (w < pending.length) {
                pending = pending.subarray(w);
                return; // writable() resumes
              }
              pending = null;
            }
          } catch (e) {
            ctx.print(`cat: ${describeError(e)}\n`, true);
            finish(1);
          }
        };
        return { start: pump, writable: pump, closed: () => finish(1) };
      });
    },
  });
  t.infoSections.push(() => {
    const u = files.usage();
    return [`flash: ${u.used} of ${u.capacity} bytes used`];
  });
}
