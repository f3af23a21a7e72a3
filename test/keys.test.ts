// Key formats (modules/ssh/keys.ts) against OpenSSH's ssh-keygen, and password hashing
// (modules/ssh/password.ts) against published PBKDF2 / HMAC vectors.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomFillSync } from "node:crypto";
import { createNobleProvider } from "../modules/crypto/noble.js";
import {
  decodeOpenSshPrivateKey,
  ed25519PublicKeyBlob,
  encodeOpenSshPrivateKey,
  fingerprintSha256,
  formatPublicKeyLine,
  parseAuthorizedKeys,
  PEM_BEGIN,
  PEM_END,
} from "../modules/ssh/keys.js";
import { DEFAULT_ITERATIONS, MAX_ITERATIONS, hashPassword, hmacSha256, pbkdf2Sha256, verifyPassword } from "../modules/ssh/password.js";
import { SshReader, SshWriter, base64Decode, base64Encode, hexEncode, utf8Encode } from "../modules/ssh/wire.js";

// The reference provider (pure TypeScript over @noble), with node's CSPRNG.
const crypto = createNobleProvider((out) => {
  randomFillSync(out);
});

/** Every external command gets a bounded run time. */
const EXEC_TIMEOUT_MS = 30_000;
function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", timeout: EXEC_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"] });
}

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "keys-test-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function keygen(dir: string, name: string, type: "ed25519" | "rsa", comment: string, passphrase = ""): string {
  const f = join(dir, name);
  const args = ["-q", "-t", type, "-N", passphrase, "-C", comment, "-f", f];
  if (type === "rsa") args.push("-b", "2048");
  run("ssh-keygen", args);
  return f;
}

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
const ascii = (s: string) => utf8Encode(s);

// ---------------------------------------------------------------------------------------------
// HMAC-SHA256 and PBKDF2

test("HMAC-SHA256: RFC 4231 test cases 1, 2 and 6", () => {
  assert.equal(
    hexEncode(hmacSha256(new Uint8Array(20).fill(0x0b), ascii("Hi There"), crypto)),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
  assert.equal(
    hexEncode(hmacSha256(ascii("Jefe"), ascii("what do ya want for nothing?"), crypto)),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  // Test case 6: a 131-byte key, longer than the block, is hashed first.
  assert.equal(
    hexEncode(hmacSha256(new Uint8Array(131).fill(0xaa), ascii("Test Using Larger Than Block-Size Key - Hash Key First"), crypto)),
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  );
});

test("PBKDF2-HMAC-SHA256: RFC 7914 section 11 vectors", () => {
  assert.equal(
    hexEncode(pbkdf2Sha256(ascii("passwd"), ascii("salt"), 1, 64, crypto)),
    "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc" +
      "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
  );
  assert.equal(
    hexEncode(pbkdf2Sha256(ascii("Password"), ascii("NaCl"), 80000, 64, crypto)),
    "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56" +
      "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
  );
});

test("PBKDF2: long password (> block) and long salt (> 28 bytes), partial last block", () => {
  const pw = new Uint8Array(100).fill(0x61);
  const salt = new Uint8Array(40).fill(0x73);
  // Reference: node:crypto's OpenSSL implementation.
  const ref = execFileSync(process.execPath, [
    "-e",
    `process.stdout.write(require("crypto").pbkdf2Sync(Buffer.alloc(100,0x61),Buffer.alloc(40,0x73),7,45,"sha256").toString("hex"))`,
  ], { encoding: "utf8", timeout: EXEC_TIMEOUT_MS });
  assert.equal(hexEncode(pbkdf2Sha256(pw, salt, 7, 45, crypto)), ref);
});

test("hashPassword / verifyPassword round trip", () => {
  const stored = hashPassword("correct horse ✓", crypto, 1000);
  assert.match(stored, /^\$pbkdf2-sha256\$1000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.equal(verifyPassword("correct horse ✓", stored, crypto), true);
  assert.equal(verifyPassword("correct horse ✗", stored, crypto), false);
  assert.equal(verifyPassword("", stored, crypto), false);
  // Fresh salt each time.
  assert.notEqual(hashPassword("x", crypto, 10), hashPassword("x", crypto, 10));
  // Default iteration count.
  const def = hashPassword("pw", crypto);
  assert.ok(def.startsWith(`$pbkdf2-sha256$${DEFAULT_ITERATIONS}$`));
  assert.equal(verifyPassword("pw", def, crypto), true);
  assert.throws(() => hashPassword("pw", crypto, 0));
  assert.throws(() => hashPassword("pw", crypto, MAX_ITERATIONS + 1));
});

test("verifyPassword: malformed stored strings are false, never an exception", () => {
  const good = hashPassword("pw", crypto, 10);
  const [, , iter, salt, hash] = good.split("$");
  const bad = [
    "",
    "pw",
    "$pbkdf2-sha256$",
    `$pbkdf2-sha512$${iter}$${salt}$${hash}`,
    `pbkdf2-sha256$${iter}$${salt}$${hash}`,
    `$pbkdf2-sha256$${iter}$${salt}$${hash}$`,
    `$pbkdf2-sha256$0$${salt}$${hash}`,
    `$pbkdf2-sha256$-5$${salt}$${hash}`,
    `$pbkdf2-sha256$010$${salt}$${hash}`,
    `$pbkdf2-sha256$1e3$${salt}$${hash}`,
    `$pbkdf2-sha256$${MAX_ITERATIONS + 1}$${salt}$${hash}`,
    `$pbkdf2-sha256$99999999999999$${salt}$${hash}`,
    `$pbkdf2-sha256$${iter}$$${hash}`,
    `$pbkdf2-sha256$${iter}$${salt}$`,
    `$pbkdf2-sha256$${iter}$${salt}$${hash}==`,
    `$pbkdf2-sha256$${iter}$${salt}$${hash.slice(0, -1)}!`,
    `$pbkdf2-sha256$${iter}$AAAA$${hash}`, // 3-byte salt: too short
    `$pbkdf2-sha256$${iter}$${salt}$AAAA`, // 3-byte hash: too short
    `$pbkdf2-sha256$${iter}$${salt}$${hash}`.padEnd(1000, "A"),
  ];
  for (const s of bad) assert.equal(verifyPassword("pw", s, crypto), false, s);
  assert.equal(verifyPassword("pw", good, crypto), true);
  assert.equal(verifyPassword("pw", undefined as unknown as string, crypto), false);
});

// ---------------------------------------------------------------------------------------------
// Interop with ssh-keygen

/** The checkint of an unencrypted openssh-key-v1 file (for the byte-exact comparison). */
function checkIntOf(pem: string): number {
  const body = pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
  const data = base64Decode(body)!;
  const r = new SshReader(data, 15);
  r.string();
  r.string();
  r.string();
  r.uint32();
  r.string();
  const priv = new SshReader(r.string());
  return priv.uint32();
}

test("reads an ssh-keygen ed25519 key: public line, fingerprint, byte-exact re-encoding", () => {
  withTempDir((dir) => {
    const f = keygen(dir, "k", "ed25519", "test@x");
    const pem = readFileSync(f, "utf8");
    const pubLine = readFileSync(f + ".pub", "utf8").trim();
    const key = decodeOpenSshPrivateKey(pem);
    assert.equal(key.comment, "test@x");
    assert.equal(key.seed.length, 32);
    assert.deepEqual(crypto.ed25519Public(key.seed), key.publicKey);

    const blob = ed25519PublicKeyBlob(key.publicKey);
    const [type, b64] = pubLine.split(" ");
    assert.equal(formatPublicKeyLine(blob), `${type} ${b64}`);
    assert.equal(formatPublicKeyLine(blob, key.comment), pubLine);

    const printed = run("ssh-keygen", ["-lf", f + ".pub"]); // "256 SHA256:... test@x (ED25519)"
    assert.equal(fingerprintSha256(blob, crypto), printed.split(" ")[1]);

    // Our encoder, given the same checkint, writes exactly what ssh-keygen wrote.
    assert.equal(encodeOpenSshPrivateKey(key.seed, key.publicKey, key.comment, checkIntOf(pem)), pem);
  });
});

test("ssh-keygen reads a key written by encodeOpenSshPrivateKey", () => {
  withTempDir((dir) => {
    const seed = new Uint8Array(32);
    crypto.randomBytes(seed);
    const pub = crypto.ed25519Public(seed);
    const checkBuf = new Uint8Array(4);
    crypto.randomBytes(checkBuf);
    const checkInt = new SshReader(checkBuf).uint32();
    const pem = encodeOpenSshPrivateKey(seed, pub, "ours@esp32", checkInt);
    for (const l of pem.split("\n").slice(1, -2)) assert.ok(l.length <= 70);
    assert.ok(pem.endsWith("-----END OPENSSH PRIVATE KEY-----\n"));

    const f = join(dir, "ours");
    writeFileSync(f, pem, { mode: 0o600 });
    const blob = ed25519PublicKeyBlob(pub);
    const line = formatPublicKeyLine(blob);
    const derived = run("ssh-keygen", ["-y", "-f", f]).trim();
    assert.equal(derived.split(" ").slice(0, 2).join(" "), line);
    const printed = run("ssh-keygen", ["-lf", f]);
    assert.equal(printed.split(" ")[1], fingerprintSha256(blob, crypto));

    const back = decodeOpenSshPrivateKey(pem);
    assert.deepEqual(back.seed, seed);
    assert.deepEqual(back.publicKey, pub);
    assert.equal(back.comment, "ours@esp32");
  });
});

/** Rewrites the decoded body of a PEM file. */
function mutatePem(pem: string, fn: (data: Uint8Array) => Uint8Array): string {
  const body = pem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
  const b64 = base64Encode(fn(base64Decode(body)!));
  let out = PEM_BEGIN + "\n";
  for (let i = 0; i < b64.length; i += 70) out += b64.slice(i, i + 70) + "\n";
  return out + "-----END OPENSSH PRIVATE KEY-----\n";
}

test("decodeOpenSshPrivateKey: clear errors for encrypted, RSA, corrupt and badly framed files", () => {
  withTempDir((dir) => {
    const enc = readFileSync(keygen(dir, "enc", "ed25519", "e", "secret pass"), "utf8");
    assert.throws(() => decodeOpenSshPrivateKey(enc), /encrypted private keys are not supported/);
    const rsa = readFileSync(keygen(dir, "rsa", "rsa", "r"), "utf8");
    assert.throws(() => decodeOpenSshPrivateKey(rsa), /unsupported private key type "ssh-rsa"/);
  });

  const seed = new Uint8Array(32).fill(7);
  const pub = crypto.ed25519Public(seed);
  const pem = encodeOpenSshPrivateKey(seed, pub, "c", 0x12345678);
  assert.equal(decodeOpenSshPrivateKey(pem).comment, "c");
  // CRLF line endings are fine.
  assert.deepEqual(decodeOpenSshPrivateKey(pem.replace(/\n/g, "\r\n")).seed, seed);

  // Offsets: magic 15, "none" 8, "none" 8, "" 4, nkeys 4, blob 4+51, private length 4: the
  // private section starts at 98 (checkints 8, type 4+11, public 4+32, secret 4+64).
  const PRIV = 98;
  const flip = (off: number) => (d: Uint8Array) => {
    d[off] ^= 1;
    return d;
  };
  assert.throws(() => decodeOpenSshPrivateKey(mutatePem(pem, flip(PRIV + 4))), /checkint mismatch/);
  assert.throws(() => decodeOpenSshPrivateKey(mutatePem(pem, (d) => d.subarray(0, d.length - 1))), /truncated or corrupt/);
  assert.throws(() => decodeOpenSshPrivateKey(mutatePem(pem, flip(0))), /bad magic/);
  // Public key in the header differs from the private section's.
  assert.throws(() => decodeOpenSshPrivateKey(mutatePem(pem, flip(PRIV - 5))), /does not match/);
  // The 64-byte secret's second half is not the public key.
  const secretTail = PRIV + 8 + 4 + 11 + 4 + 32 + 4 + 63; // last byte of seed||pub
  assert.throws(() => decodeOpenSshPrivateKey(mutatePem(pem, flip(secretTail))), /does not contain its public key/);
  // Padding bytes must be 1, 2, 3, ...
  assert.throws(() => decodeOpenSshPrivateKey(mutatePem(pem, (d) => flip(d.length - 1)(d))), /bad padding/);

  assert.throws(() => decodeOpenSshPrivateKey(""), (e: unknown) => e instanceof Error && e.message.includes(`missing "${PEM_BEGIN}"`));
  assert.throws(() => decodeOpenSshPrivateKey(pem.replace("-----END OPENSSH PRIVATE KEY-----", "")), /missing "-----END/);
  assert.throws(() => decodeOpenSshPrivateKey(pem.replace("\nb3Bl", "\n!!!!")), /invalid base64/);
  assert.throws(() => decodeOpenSshPrivateKey(PEM_BEGIN.replace("OPENSSH", "RSA") + "\nAAAA\n" + PEM_END.replace("OPENSSH", "RSA") + "\n"), /not an OpenSSH private key/);
});

// ---------------------------------------------------------------------------------------------
// authorized_keys

test("parseAuthorizedKeys: options, comments, blank lines, other key types, bad lines, CRLF", () => {
  withTempDir((dir) => {
    const ed = readFileSync(keygen(dir, "ed", "ed25519", "alice@host") + ".pub", "utf8").trim();
    const rsa = readFileSync(keygen(dir, "rsa", "rsa", "bob@host") + ".pub", "utf8").trim();
    const edB64 = ed.split(" ")[1];
    const rsaB64 = rsa.split(" ")[1];
    const edKey = decodeOpenSshPrivateKey(readFileSync(join(dir, "ed"), "utf8")).publicKey;

    const corrupt = edB64.slice(0, 20) + "!!" + edB64.slice(22);
    const truncated = edB64.slice(0, 40); // decodes, but the blob is cut short
    const lines = [
      "# a comment",
      "",
      "   ",
      ed, // 4
      `command="echo a, b",no-pty,from="10.0.0.1 , 10.0.0.2" ${ed.replace("alice@host", "with options")}`, // 5
      "\t  " + rsa, // 6
      `ssh-ed25519 ${corrupt} broken`, // 7
      `ssh-rsa ${edB64} mismatched`, // 8
      `ssh-ed25519 ${truncated}`, // 9
      `command="unterminated ssh-ed25519 ${edB64}`, // 10
      "ssh-ed25519", // 11
      `no-pty ssh-ed25519 ${edB64}    spaced   comment  `, // 12
      `ssh-ed25519 ${edB64}`, // 13: no comment
      `x-unknown@example.com ${base64Encode(new SshWriter().text("x-unknown@example.com").string(new Uint8Array(3)).bytes())} future`, // 14
      `ssh-ed25519 ${rsaB64} rsa blob labelled ed25519`, // 15
      `restrict,command="a \\" quoted, comma" ${ed}`, // 16
      "",
    ];
    const { keys, errors } = parseAuthorizedKeys(lines.join("\r\n"));

    assert.deepEqual(
      errors.map((e) => e.split(":")[0]),
      ["line 7", "line 8", "line 9", "line 10", "line 11", "line 15"],
      errors.join("\n"),
    );
    assert.match(errors[0], /invalid base64/);
    assert.match(errors[1], /does not match the key data \("ssh-ed25519"\)/);
    assert.match(errors[2], /corrupt key data|32-byte/);
    assert.match(errors[3], /unterminated/);
    assert.match(errors[4], /missing key data/);
    assert.match(errors[5], /does not match/);

    assert.equal(keys.length, 7);
    const [k4, k5, k6, k12, k13, k14, k16] = keys;
    assert.equal(k4.type, "ssh-ed25519");
    assert.deepEqual(k4.publicKey, edKey);
    assert.deepEqual(k4.blob, ed25519PublicKeyBlob(edKey));
    assert.equal(k4.comment, "alice@host");
    assert.deepEqual(k4.options, []);

    assert.deepEqual(k5.options, ['command="echo a, b"', "no-pty", 'from="10.0.0.1 , 10.0.0.2"']);
    assert.equal(k5.comment, "with options");
    assert.deepEqual(k5.publicKey, edKey);

    assert.equal(k6.type, "ssh-rsa");
    assert.equal(k6.publicKey, undefined);
    assert.equal(k6.comment, "bob@host");
    assert.equal(base64Encode(k6.blob), rsaB64);

    assert.deepEqual(k12.options, ["no-pty"]);
    assert.equal(k12.comment, "spaced   comment");
    assert.equal(k13.comment, "");
    assert.equal(k14.type, "x-unknown@example.com");
    assert.equal(k14.comment, "future");
    assert.deepEqual(k16.options, ["restrict", 'command="a \\" quoted, comma"']);
    assert.equal(k16.comment, "alice@host");
  });
});

test("parseAuthorizedKeys: size bounds, never throws", () => {
  const big = parseAuthorizedKeys("#".repeat(64 * 1024 + 1));
  assert.equal(big.keys.length, 0);
  assert.match(big.errors[0], /limit/);
  const longLine = parseAuthorizedKeys("ssh-ed25519 " + "A".repeat(9000));
  assert.match(longLine.errors[0], /^line 1: line longer than/);
  for (const s of ["\0\0\0", '"', ",,,", "a b c d", "ssh-ed25519 ====", "ssh-ed25519 A", "\n\n\r\r\n"]) {
    assert.doesNotThrow(() => parseAuthorizedKeys(s));
  }
});
