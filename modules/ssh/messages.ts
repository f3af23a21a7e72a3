// Message numbers (RFC 4250 section 4.1, RFC 4252, RFC 4254, RFC 5656, RFC 8308), disconnect reason
// codes (RFC 4250 4.2.2) and channel open failure codes (RFC 4250 4.3).

export const MSG = Object.freeze({
  DISCONNECT: 1,
  IGNORE: 2,
  UNIMPLEMENTED: 3,
  DEBUG: 4,
  SERVICE_REQUEST: 5,
  SERVICE_ACCEPT: 6,
  EXT_INFO: 7,
  KEXINIT: 20,
  NEWKEYS: 21,
  KEX_ECDH_INIT: 30,
  KEX_ECDH_REPLY: 31,
  USERAUTH_REQUEST: 50,
  USERAUTH_FAILURE: 51,
  USERAUTH_SUCCESS: 52,
  USERAUTH_BANNER: 53,
  USERAUTH_PK_OK: 60,
  GLOBAL_REQUEST: 80,
  REQUEST_SUCCESS: 81,
  REQUEST_FAILURE: 82,
  CHANNEL_OPEN: 90,
  CHANNEL_OPEN_CONFIRMATION: 91,
  CHANNEL_OPEN_FAILURE: 92,
  CHANNEL_WINDOW_ADJUST: 93,
  CHANNEL_DATA: 94,
  CHANNEL_EXTENDED_DATA: 95,
  CHANNEL_EOF: 96,
  CHANNEL_CLOSE: 97,
  CHANNEL_REQUEST: 98,
  CHANNEL_SUCCESS: 99,
  CHANNEL_FAILURE: 100,
} as const);

export const DISCONNECT = Object.freeze({
  HOST_NOT_ALLOWED_TO_CONNECT: 1,
  PROTOCOL_ERROR: 2,
  KEY_EXCHANGE_FAILED: 3,
  MAC_ERROR: 5,
  SERVICE_NOT_AVAILABLE: 7,
  PROTOCOL_VERSION_NOT_SUPPORTED: 8,
  CONNECTION_LOST: 10,
  BY_APPLICATION: 11,
  TOO_MANY_CONNECTIONS: 12,
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
} as const);

export const OPEN_FAILURE = Object.freeze({
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4,
} as const);

/** SSH_EXTENDED_DATA_STDERR (RFC 4254 section 5.2). */
export const EXTENDED_DATA_STDERR = 1;

/** Transport-layer messages allowed while a key exchange is in progress (RFC 4253 section 7.1):
 * the generic ones (1-19 except service requests), the kex negotiation (20-29) and the kex
 * method's own messages (30-49). */
export function isKexPhaseMessage(type: number): boolean {
  // EXT_INFO (RFC 8308 2.4) goes right after our first NEWKEYS, while the kex is still finishing.
  return (type >= 1 && type <= 4) || type === 7 || (type >= 20 && type <= 49);
}

/** Error carrying the disconnect reason the connection closes with. */
export class SshError extends Error {
  constructor(readonly reason: number, message: string) {
    super(message);
  }

  /** On the prototype, never an assignment to the instance's name: where the built-ins are frozen (the Moddable XS
   * linker freezes them when anything is preloaded) assigning over Error.prototype's `name` throws
   * "set name: not writable" (the override mistake). test/esp32-sim runs with frozen built-ins. */
  override get name(): string {
    return "SshError";
  }
}
