// Wire encoding (RFC 4251 section 5), version lines (RFC 4253 4.2), terminal modes (RFC 4254 8).

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTerminalModes } from "../modules/ssh/session.js";
import { parseVersion } from "../modules/ssh/version.js";
import { SshReader, SshWriter, WireError, base64Decode, base64Encode, hexEncode, isBase64Text, utf8Decode, utf8Encode } from "../modules/ssh/wire.js";
import { splitArgs } from "../modules/console/commands.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

test("mpint examples from RFC 4251 section 5", () => {
  // The RFC's examples for non-negative values.
  assert.equal(hexEncode(new SshWriter().mpint(new Uint8Array(0)).bytes()), "00000000");
  assert.equal(hexEncode(new SshWriter().mpint(hex("09a378f9b2e332a7")).bytes()), "0000000809a378f9b2e332a7");
  assert.equal(hexEncode(new SshWriter().mpint(hex("80")).bytes()), "000000020080");
  // Leading zero bytes of a fixed-size magnitude (an X25519 output) are stripped.
  assert.equal(hexEncode(new SshWriter().mpint(hex("0000007f")).bytes()), "000000017f");
  assert.equal(hexEncode(new SshWriter().mpint(hex("000000")).bytes()), "00000000");
});

test("uint32, uint64, string, boolean, name-list round trip", () => {
  const w = new SshWriter(4)
    .uint32(0xdeadbeef)
    .uint64(2 ** 40 + 5)
    .string(hex("0102"))
    .boolean(true)
    .nameList(["zlib", "none"])
    .nameList([])
    .text("résumé");
  assert.equal(hexEncode(w.bytes().subarray(0, 4)), "deadbeef");
  assert.equal(hexEncode(w.bytes().subarray(4, 12)), "0000010000000005");
  const r = new SshReader(w.bytes());
  assert.equal(r.uint32(), 0xdeadbeef);
  assert.equal(r.uint64(), 2 ** 40 + 5);
  assert.deepEqual([...r.string()], [1, 2]);
  assert.equal(r.boolean(), true);
  assert.deepEqual(r.nameList(), ["zlib", "none"]);
  assert.deepEqual(r.nameList(), []);
  assert.equal(r.text(), "résumé");
  r.done("test");
});

test("a name-list (or string) longer than its packet is a WireError, not a crash", () => {
  const bad = new SshWriter().uint32(0xffff).raw(hex("616263")).bytes();
  assert.throws(() => new SshReader(bad).nameList(), WireError);
  assert.throws(() => new SshReader(hex("0000")).uint32(), WireError);
  assert.throws(() => new SshReader(new SshWriter().uint32(1).uint32(2).bytes()).done("msg"), WireError);
});

test("utf8 and base64 match node's encoders", () => {
  for (const s of ["", "a", "ÿ€𝄞 mixed ✓", "\u0000x"]) {
    assert.deepEqual(Buffer.from(utf8Encode(s)), Buffer.from(s, "utf8"));
    assert.equal(utf8Decode(utf8Encode(s)), s);
  }
  assert.equal(utf8Decode(hex("ff41")), "\ufffdA");
  for (let n = 0; n < 40; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
    assert.equal(base64Encode(b), Buffer.from(b).toString("base64"));
    assert.deepEqual(Buffer.from(base64Decode(base64Encode(b))!), Buffer.from(b));
  }
  assert.equal(base64Decode("ab$c"), null);
});

test("version exchange: CR LF, LF only, pre-version lines, limits", () => {
  const v = (s: string) => {
    const b = Buffer.from(s, "latin1");
    return parseVersion(b, b.length);
  };
  assert.deepEqual(v("SSH-2.0-OpenSSH_9.2\r\nrest"), { kind: "version", version: "SSH-2.0-OpenSSH_9.2", consumed: 21 });
  assert.deepEqual(v("SSH-2.0-x\n"), { kind: "version", version: "SSH-2.0-x", consumed: 10 });
  assert.deepEqual(v("hello\r\nbanner\r\nSSH-1.99-old\r\n"), { kind: "version", version: "SSH-1.99-old", consumed: 29 });
  assert.deepEqual(v("SSH-2.0-partial"), { kind: "need-more" });
  const r1 = v("SSH-1.5-ancient\r\n");
  assert.equal(r1.kind === "error" && r1.unsupported, true);
  assert.equal(v("A".repeat(300)).kind, "error");
  assert.equal(v(("x".repeat(100) + "\r\n").repeat(50)).kind, "error");
  assert.equal(v("SSH-2.0-bad\x01char\r\n").kind, "error");
});

test("terminal modes: opcode/uint32 pairs up to TTY_OP_END", () => {
  const modes = new SshWriter().byte(53).uint32(1).byte(128).uint32(38400).byte(0).byte(1).uint32(9).bytes();
  assert.deepEqual([...parseTerminalModes(modes)], [[53, 1], [128, 38400]]);
  assert.equal(parseTerminalModes(new SshWriter().byte(200).uint32(1).bytes()).size, 0);
});

test("device command lines split like a shell", () => {
  assert.deepEqual(splitArgs(`echo  a "b c" 'd e' f\\ g`), ["echo", "a", "b c", "d e", "f g"]);
  assert.deepEqual(splitArgs(`echo ""`), ["echo", ""]);
  assert.equal(splitArgs(`echo "open`), null);
});

test("utf8Encode gives TextEncoder's bytes (lone surrogates as U+FFFD) in a buffer of the exact length", () => {
  const cases = ["", "abc", "é", "€", "😀", "a\ud800b", "\udc00", "x\ud83d", "é€😀 \ud800\ud800\udc00", "ssh-ed25519 AAAA k\n".repeat(500)];
  for (const s of cases) {
    const got = utf8Encode(s);
    const want = new TextEncoder().encode(s);
    assert.deepEqual(Buffer.from(got), Buffer.from(want), JSON.stringify(s.slice(0, 20)));
    assert.equal(got.buffer.byteLength, want.length);
  }
});

test("isBase64Text: the standard alphabet, padding only where asked and only at the end (what the RegExps it replaced accepted)", () => {
  const padded = (s: string) => /^[A-Za-z0-9+/]+={0,2}$/.test(s);
  const bare = (s: string) => /^[A-Za-z0-9+/]+$/.test(s);
  const cases = ["", "=", "==", "A", "AAAA", "AA==", "AAA=", "A===", "AA=A", "A-B_", "ab+/09", "AAAA\n", " AAAA", "Zz9+/==", "é", "A".repeat(600)];
  for (const s of cases) {
    assert.equal(isBase64Text(s, true), padded(s), `padded ${JSON.stringify(s.slice(0, 12))}`);
    assert.equal(isBase64Text(s, false), bare(s), `bare ${JSON.stringify(s.slice(0, 12))}`);
  }
});
