// Protocol version exchange (RFC 4253 section 4.2).

import { asciiDecode } from "./wire.js";

/** A version line, CR LF included, is at most 255 bytes (RFC 4253 4.2). */
export const MAX_VERSION_LINE = 255;
/** Lines a client may send before its identification (RFC 4253 4.2 allows them). OpenSSH never sends
 * any; proxies and banners seldom more than a few. Bounded so garbage cannot hold a slot. */
export const MAX_PRE_VERSION_BYTES = 4096;

export type VersionResult =
  | { kind: "need-more" }
  | { kind: "version"; version: string; consumed: number }
  | { kind: "error"; message: string; unsupported: boolean };

/**
 * Reads the peer's identification line from the start of its stream. Fed the same growing prefix
 * (or the prefix that is buffered so far); returns the version string without CR LF and how many
 * bytes it consumed, so that what follows goes to the packet layer untouched.
 */
export function parseVersion(buf: Uint8Array, length: number): VersionResult {
  let lineStart = 0;
  for (;;) {
    let lf = -1;
    const limit = Math.min(length, lineStart + MAX_VERSION_LINE);
    for (let i = lineStart; i < limit; i++) {
      if (buf[i] === 0x0a) {
        lf = i;
        break;
      }
    }
    if (lf < 0) {
      if (length - lineStart >= MAX_VERSION_LINE) return { kind: "error", message: "identification line longer than 255 bytes", unsupported: false };
      if (length > MAX_PRE_VERSION_BYTES) return { kind: "error", message: "no identification line within the first 4096 bytes", unsupported: false };
      return { kind: "need-more" };
    }
    const end = lf > lineStart && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    if (startsWithSsh(buf, lineStart, end)) {
      for (let i = lineStart; i < end; i++) {
        const c = buf[i];
        if (c < 0x20 || c > 0x7e) return { kind: "error", message: "identification line has a control character", unsupported: false };
      }
      const version = asciiDecode(buf.subarray(lineStart, end));
      if (!version.startsWith("SSH-2.0-") && !version.startsWith("SSH-1.99-")) {
        return { kind: "error", message: `unsupported protocol version "${version.slice(0, 32)}"`, unsupported: true };
      }
      return { kind: "version", version, consumed: lf + 1 };
    }
    lineStart = lf + 1;
    if (lineStart > MAX_PRE_VERSION_BYTES) return { kind: "error", message: "no identification line within the first 4096 bytes", unsupported: false };
  }
}

function startsWithSsh(buf: Uint8Array, start: number, end: number): boolean {
  return end - start >= 4 && buf[start] === 0x53 && buf[start + 1] === 0x53 && buf[start + 2] === 0x48 && buf[start + 3] === 0x2d;
}
