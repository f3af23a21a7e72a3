// Who may do what on the device. The login name picks the UART (`ssh router@board`; `console` is the
// first); what the login may do there comes from its key line or certificate:
//
//   role      attach read-write, break, stty   observe   file transfer and file commands   admin commands (keys, ...)
//   admin     every UART                        yes       yes                                yes
//   operator  its UARTs                         yes       no                                 no
//   observer  no                                its UARTs no                                 no
//
// - A plain authorized_keys line (and the password) is the owner's: admin, every UART.
// - A certificate (a cert-authority line) is an operator of the UARTs its principals name (the login
//   name must be one of them, as sshd checks); a principal "admin" makes it admin. A CA line with
//   principals= matched instead of the login name reaches every UART.
// - environment="SERIAL_ROLE=operator|observer" on a key or CA line caps the role (never raises it).
// - command="observe" (or a certificate's force-command) is all that login can run, whatever its role.

import type { SessionContext } from "../ssh/session.js";
import type { Access } from "../ssh/access.js";

export type Role = "observer" | "operator" | "admin";
/** Values SERIAL_ROLE may take on a key line (access.ts checks them when the line is read). */
export const ROLE_NAMES: readonly Role[] = Object.freeze(["observer", "operator", "admin"] as Role[]);
/** The certificate principal that makes a certificate admin. */
export const ADMIN_PRINCIPAL = "admin";

function rank(r: Role): number {
  return ROLE_NAMES.indexOf(r);
}

/** The role of a session's login. */
export function roleOf(ctx: SessionContext): Role {
  return roleOfAccess(ctx.access);
}

/** The role of a login's access record. */
export function roleOfAccess(a: Access): Role {
  let role: Role = a.principals === null || a.principals.indexOf(ADMIN_PRINCIPAL) >= 0 ? "admin" : "operator";
  for (const [name, value] of a.environment) {
    if (name === "SERIAL_ROLE" && ROLE_NAMES.indexOf(value as Role) >= 0 && rank(value as Role) < rank(role)) role = value as Role;
  }
  return role;
}

/** True when the session's role is at least `needed`. */
export function hasRole(ctx: SessionContext, needed: Role): boolean {
  return rank(roleOf(ctx)) >= rank(needed);
}

/** Is this session an admin (may run file and admin commands: keys, and device settings). */
export function isAdmin(ctx: SessionContext): boolean {
  return roleOf(ctx) === "admin";
}

/** May this session reach UART `name` at all (read-only or read-write)? `first`: it is the first
 * UART, which the login name "console" also names. Admins reach every UART; certificate logins only
 * those their principals name. */
export function mayReachUart(ctx: SessionContext, name: string, first: boolean, defaultUser: string): boolean {
  const p = ctx.access.principals;
  if (p === null || isAdmin(ctx)) return true;
  return p.indexOf(name) >= 0 || (first && p.indexOf(defaultUser) >= 0);
}

/** May this session type into a UART it reaches (input, break, line settings)? */
export function mayWriteUart(ctx: SessionContext): boolean {
  return hasRole(ctx, "operator");
}
