// Who may log in, the same on every host: the login names are "console" and the UARTs' names (or
// only "console" without a serial console), keys from authorized_keys, and an optional password
// checked against its stored PBKDF2 hash.

import type { CryptoProvider } from "../crypto/provider.js";
import type { AllowedKey, AuthPolicy } from "../ssh/auth.js";
import { verifyPassword } from "../ssh/password.js";
import { DEFAULT_USER, type SerialConsole } from "./console.js";
import { roleOfAccess } from "./roles.js";

export interface ConsoleAuthOptions {
  serial: SerialConsole | null;
  /** The authorized keys, read when a login needs them (hosts may re-read their file). */
  keys: () => readonly AllowedKey[];
  passwordHash: string | undefined;
  crypto: CryptoProvider;
  banner?: string;
}

export function consoleAuthPolicy(o: ConsoleAuthOptions): AuthPolicy {
  return {
    isUser: (user) => (o.serial ? o.serial.isUser(user) : user === DEFAULT_USER),
    authorizedKeys: () => o.keys(),
    passwordHash: () => o.passwordHash,
    passwordEnabled: o.passwordHash !== undefined,
    verifyPassword: (password, hash) => verifyPassword(password, hash, o.crypto),
    banner: o.banner,
    describeAccess: (_user, access) => {
      const role = roleOfAccess(access);
      const uarts = access.principals === null || role === "admin" ? "every UART" : `UARTs ${access.principals.join(",").slice(0, 80)}`;
      return `role ${role}, ${uarts}`;
    },
  };
}
