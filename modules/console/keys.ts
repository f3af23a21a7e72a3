// Authorized keys at run time: the keys built into the image (or the host's file) and the keys added
// since, kept in a host-provided text file (the flash store on the firmware, authorized_keys itself on
// the node host). The `keys` device command lists them with fingerprints, adds keys from its input
// and removes them by fingerprint; built-in keys cannot be removed, only disabled (a "# disabled
// SHA256:..." line in the added-keys file). `ssh-copy-id` works through the same path: its install
// command (`exec sh -c '... cat >> .ssh/authorized_keys ...'`) is recognised and runs `keys add`.

import type { CryptoProvider } from "../crypto/provider.js";
import type { AllowedKey } from "../ssh/auth.js";
import { parseKeyOptions } from "../ssh/access.js";
import { fingerprintSha256, parseAuthorizedKeys, type AuthorizedKey } from "../ssh/keys.js";
import { usableUserKeys } from "../ssh/signature.js";
import type { SessionContext, SessionProgram } from "../ssh/session.js";
import type { KeysFile } from "../files/sftp.js";
import { isAdmin } from "./roles.js";
import { fail, printAndExit, type CommandTable } from "./commands.js";

/** Input `keys add` reads at most (a few dozen key lines). */
export const MAX_KEYS_INPUT = 16 * 1024;
/** The comment line that disables a built-in key in the added-keys file. */
const DISABLED_MARK = "# disabled ";

/** Where added keys live: read and replace the whole text. */
export interface KeyFile {
  read(): string;
  write(text: string): void;
}

interface Entry {
  key: AuthorizedKey;
  fingerprint: string;
  builtIn: boolean;
}

export class RuntimeKeys {
  private cachedText: string | null = null;
  private cached: { entries: Entry[]; usable: AllowedKey[]; disabled: string[] } = { entries: [], usable: [], disabled: [] };

  /** `builtIn`: the image's authorized_keys text ("" when there is none); `file`: the added keys. */
  constructor(
    private readonly crypto: CryptoProvider,
    private readonly builtIn: string,
    private readonly file: KeyFile,
    private readonly log: (line: string) => void,
  ) {}

  private state() {
    const text = this.file.read();
    if (text === this.cachedText) return this.cached;
    this.cachedText = text;
    const entries: Entry[] = [];
    const disabled: string[] = [];
    for (const line of text.split("\n")) if (line.startsWith(DISABLED_MARK)) disabled.push(line.slice(DISABLED_MARK.length).trim());
    for (const [source, builtIn] of [[this.builtIn, true], [text, false]] as const) {
      const parsed = parseAuthorizedKeys(source);
      for (const e of parsed.errors) this.log(`authorized_keys${builtIn ? " (built in)" : ""}: ${e}`);
      for (const key of parsed.keys) entries.push({ key, fingerprint: fingerprintSha256(key.blob, this.crypto), builtIn });
    }
    const active = entries.filter((e) => !(e.builtIn && disabled.indexOf(e.fingerprint) >= 0)).map((e) => e.key);
    const { usable, notes } = usableUserKeys(this.crypto, active);
    for (const n of notes) this.log(`authorized_keys: ${n}`);
    this.cached = { entries, usable, disabled };
    return this.cached;
  }

  /** The keys a login may use now. */
  all(): readonly AllowedKey[] {
    return this.state().usable;
  }

  /** One line per key: fingerprint, type, comment, where it comes from, options. */
  list(): string[] {
    const s = this.state();
    return s.entries.map((e) => {
      const flags = [e.builtIn ? "built-in" : "added", ...(e.builtIn && s.disabled.indexOf(e.fingerprint) >= 0 ? ["disabled"] : [])];
      const options = e.key.options.length > 0 ? ` options ${e.key.options.join(",").slice(0, 120)}` : "";
      return `${e.fingerprint} ${e.key.type} ${e.key.comment || "-"} (${flags.join(", ")})${options}`;
    });
  }

  /** The whole authorized_keys text as SFTP shows it at .ssh/authorized_keys: the built-in lines,
   * then the added ones (with the "# disabled" marks). */
  text(): string {
    const added = this.file.read();
    const b = this.builtIn;
    return (b === "" || b.endsWith("\n") ? b : b + "\n") + added;
  }

  /** True when a built-in key has this fingerprint. */
  isBuiltIn(fingerprint: string): boolean {
    return this.state().entries.some((e) => e.builtIn && e.fingerprint === fingerprint);
  }

  /**
   * Adds the key lines of `text`; returns what was added and the errors. A line whose options do not
   * parse (an unknown option, a malformed value) is not added: the error names the option. With
   * `whole` (a new version of the whole file, as SFTP writes it): lines already there (built in or
   * added, same options) are skipped silently, a known key with other options is an error (remove
   * it first: an old, wider line would stay in force), and nothing is added when anything is wrong.
   */
  add(text: string, whole = false): { added: string[]; errors: string[] } {
    const parsed = parseAuthorizedKeys(text);
    const s = this.state();
    const added: string[] = [];
    const lines: string[] = [];
    // A whole new version holds the current lines too (built in ones among them): those are skipped.
    const current = whole ? this.text().split("\n").map((l) => l.trim()) : [];
    const errors = whole ? [] : [...parsed.errors];
    for (const line of text.split("\n")) {
      const t = line.trim();
      if (t === "" || t.startsWith("#") || current.indexOf(t) >= 0) continue;
      const one = parseAuthorizedKeys(t);
      if (one.keys.length !== 1) {
        if (whole) errors.push(`"${t.slice(0, 40)}...": ${one.errors[0]?.replace(/^line 1: /, "") ?? "not a key line"}`);
        continue;
      }
      const key = one.keys[0];
      const fp = fingerprintSha256(key.blob, this.crypto);
      const options = parseKeyOptions(key.options);
      if ("error" in options) {
        errors.push(`${fp} not added: ${options.error}`);
        continue;
      }
      const same = (e: Entry) => e.fingerprint === fp && e.key.options.join(",") === key.options.join(",");
      if (whole) {
        if (s.entries.some(same) || lines.indexOf(t) >= 0) continue;
        if (s.entries.some((e) => e.fingerprint === fp)) {
          errors.push(`${fp} is already there with other options: keys remove ${fp} first`);
          continue;
        }
      } else if (s.entries.some((e) => !e.builtIn && same(e))) {
        errors.push(`${fp} is already there`);
        continue;
      }
      lines.push(t);
      added.push(`${fp} ${key.type} ${key.comment || "-"}`);
    }
    if (whole && errors.length > 0) return { added: [], errors };
    if (lines.length > 0) {
      const current = this.file.read();
      this.file.write(current + (current === "" || current.endsWith("\n") ? "" : "\n") + lines.join("\n") + "\n");
    }
    return { added, errors };
  }

  /** Removes an added key, or disables a built-in one; "enable" takes a disable back. An error
   * message, or null. */
  remove(fingerprint: string, enable = false): string | null {
    const s = this.state();
    const matches = s.entries.filter((e) => e.fingerprint === fingerprint);
    if (matches.length === 0) return `no key ${fingerprint}`;
    const text = this.file.read();
    if (enable) {
      if (s.disabled.indexOf(fingerprint) < 0) return `${fingerprint} is not disabled`;
      this.file.write(text.split("\n").filter((l) => !(l.startsWith(DISABLED_MARK) && l.slice(DISABLED_MARK.length).trim() === fingerprint)).join("\n"));
      return null;
    }
    let out = text;
    if (matches.some((e) => !e.builtIn)) {
      out = text
        .split("\n")
        .filter((l) => {
          const one = l.trim().startsWith("#") ? null : parseAuthorizedKeys(l);
          return !(one && one.keys.length === 1 && fingerprintSha256(one.keys[0].blob, this.crypto) === fingerprint);
        })
        .join("\n");
    }
    if (matches.some((e) => e.builtIn) && s.disabled.indexOf(fingerprint) < 0) {
      out += (out === "" || out.endsWith("\n") ? "" : "\n") + DISABLED_MARK + fingerprint + "\n";
    }
    this.file.write(out);
    return null;
  }
}

/** A program that reads its input to the end (bounded), then calls `done` with it. */
function readAll(ctx: SessionContext, done: (text: string) => void): SessionProgram {
  let text = "";
  let over = false;
  return {
    data(bytes) {
      ctx.consume(bytes.length);
      if (text.length + bytes.length > MAX_KEYS_INPUT) over = true;
      else for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    },
    eof() {
      if (over) {
        ctx.print(`keys: input longer than ${MAX_KEYS_INPUT} bytes\n`, true);
        ctx.exit(1);
        return;
      }
      done(text);
    },
  };
}

function addFromInput(ctx: SessionContext, keys: RuntimeKeys): SessionProgram {
  return readAll(ctx, (text) => {
    let r: { added: string[]; errors: string[] };
    try {
      r = keys.add(text);
    } catch (e) {
      ctx.print(`keys: not stored: ${(e as Error).message}\n`, true);
      ctx.exit(1);
      return;
    }
    for (const e of r.errors) ctx.print(`keys: ${e}\n`, true);
    for (const a of r.added) ctx.print(`added ${a}\n`);
    ctx.exit(r.added.length > 0 || r.errors.length === 0 ? 0 : 1);
  });
}

/** Registers `keys` (admin only) and the `exec sh -c` form ssh-copy-id sends. */
export function installKeys(table: CommandTable, keys: RuntimeKeys, log: (line: string) => void): void {
  table.register({
    name: "keys",
    role: "admin",
    summary: "authorized keys: keys [list] | keys add (key lines on input) | keys remove|enable SHA256:...",
    run: (ctx, args) => {
      const sub = args[0] ?? "list";
      if (sub === "list" && args.length <= 1) return printAndExit(ctx, keys.list().join("\n") + (keys.list().length ? "\n" : "(no keys)\n"));
      if (sub === "add" && args.length === 1) {
        log(`${ctx.remote}: keys add by user "${ctx.user}" (${ctx.access.fingerprint || ctx.access.method})`);
        return addFromInput(ctx, keys);
      }
      if ((sub === "remove" || sub === "enable") && args.length === 2) {
        let error: string | null;
        try {
          error = keys.remove(args[1], sub === "enable");
        } catch (e) {
          error = `not stored: ${(e as Error).message}`;
        }
        if (error) return fail(ctx, `keys: ${error}`, 1);
        log(`${ctx.remote}: keys ${sub} ${args[1]} by user "${ctx.user}"`);
        if (sub === "enable") return printAndExit(ctx, `enabled ${args[1]}\n`);
        if (keys.isBuiltIn(args[1])) return printAndExit(ctx, `disabled ${args[1]} (built into the image: it cannot be removed; keys enable takes it back)\n`);
        return printAndExit(ctx, `removed ${args[1]}\n`);
      }
      return fail(ctx, "usage: keys [list] | keys add | keys remove SHA256:... | keys enable SHA256:...", 2);
    },
  });
  // ssh-copy-id (OpenSSH's script) installs keys with one remote command:
  //   exec sh -c 'cd; umask 077; mkdir -p ".ssh" && ... cat >> ".ssh/authorized_keys" || exit 1; ...'
  // with the key lines on its input. There is no shell here: that exact form means `keys add`.
  table.register({
    name: "exec",
    role: "admin",
    summary: "(ssh-copy-id's install command: adds the keys on its input)",
    run: (ctx, args) => {
      const script = args.length === 3 && args[0] === "sh" && args[1] === "-c" ? args[2] : "";
      if (script.indexOf("cat >>") >= 0 && script.indexOf("authorized_keys") >= 0) {
        log(`${ctx.remote}: ssh-copy-id install by user "${ctx.user}": keys add`);
        return addFromInput(ctx, keys);
      }
      return fail(ctx, "exec: there is no shell on this device; try 'help'", 127);
    },
  });
}

/** The keys as SFTP's .ssh/authorized_keys (ssh-copy-id -s reads it, appends, writes it back
 * whole): reading shows every line, writing adds the lines not there yet with the rules of
 * `keys add`, in one step (nothing when a line is wrong); admins only, like `keys`. */
export function keysFileOf(keys: RuntimeKeys, log: (line: string) => void): KeysFile {
  return {
    read: () => keys.text(),
    mayWrite: (ctx) => (isAdmin(ctx) ? null : "only an admin may change the authorized keys"),
    write(ctx, text) {
      if (!isAdmin(ctx)) return "only an admin may change the authorized keys";
      let r: { added: string[]; errors: string[] };
      try {
        r = keys.add(text, true);
      } catch (e) {
        return `not stored: ${(e as Error).message}`;
      }
      if (r.errors.length > 0) return r.errors.slice(0, 3).join("; ");
      log(`${ctx.remote}: sftp: .ssh/authorized_keys written by user "${ctx.user}": ${r.added.length ? `added ${r.added.join(", ")}` : "no new keys"}`);
      return null;
    },
  };
}
