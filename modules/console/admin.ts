// Who may run the device's administrative commands (firmware updates, Wi-Fi, hostname). One
// function, so that roles (authorized_keys options for administrators) replace it in one place.
// Until roles exist: every authenticated user.

export interface SessionUser {
  readonly user: string;
}

export function isAdmin(session: SessionUser): boolean {
  return session.user !== "";
}
