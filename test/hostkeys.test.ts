// The host key set (modules/ssh/hostkeys.ts): what a first start makes for each provider, keys made by
// ssh-keygen taken as they are, the firmware's old 32-byte Ed25519 seed still loading, a corrupt
// stored key replaced with a log line, and RSA made after start-up (deferSlow) joining the offer.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { join } from "node:path";
import { createNodeProvider } from "../hosts/node/crypto_node.js";
import { hostKeyFiles } from "../hosts/node/keystore.js";
import { createNobleProvider } from "../modules/crypto/noble.js";
import { serverOffer } from "../modules/ssh/algorithms.js";
import { loadHostKeys, parseHostKey, type HostKeyStore } from "../modules/ssh/hostkeys.js";
import { verifySignature } from "../modules/ssh/signature.js";
import { ensureTool, tempDir } from "./helpers/tools.js";

const node = createNodeProvider();
const noble = createNobleProvider((o) => randomFillSync(o));

/** A store in memory, as NVS or the QEMU flash store would be. */
function memoryStore(): HostKeyStore & { bytes: Map<string, Uint8Array> } {
  const bytes = new Map<string, Uint8Array>();
  return { bytes, where: "memory", load: (t) => bytes.get(t) ?? null, save: (t, b) => void bytes.set(t, b.slice()) };
}

test("a first start makes Ed25519, ECDSA and RSA with node, and says why noble makes no RSA; each key signs what its algorithm verifies", () => {
  const logs: string[] = [];
  const store = memoryStore();
  const { keys, pending } = loadHostKeys(node, store, (l) => logs.push(l));
  assert.deepEqual(keys.all().map((k) => k.type), ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]);
  assert.deepEqual(pending, []);
  assert.equal(keys.byType("ssh-rsa")!.bits, 3072);
  assert.equal(store.bytes.size, 3);
  for (const alg of serverOffer(node, keys).hostKey) {
    const data = Uint8Array.of(1, 2, 3);
    const v = verifySignature(node, keys.forAlgorithm(alg)!.blob, data, keys.sign(alg, data), alg);
    assert.ok(v.ok, `${alg}: ${v.ok ? "" : v.reason}`);
  }
  // A second start loads the same keys.
  const again = loadHostKeys(node, store, () => {});
  assert.deepEqual(again.keys.all().map((k) => k.fingerprint), keys.all().map((k) => k.fingerprint));

  const nlogs: string[] = [];
  const n = loadHostKeys(noble, memoryStore(), (l) => nlogs.push(l));
  assert.deepEqual(n.keys.all().map((k) => k.type), ["ssh-ed25519", "ecdsa-sha2-nistp256"]);
  assert.deepEqual(serverOffer(noble, n.keys).hostKey, ["ssh-ed25519", "ecdsa-sha2-nistp256"]);
  assert.ok(nlogs.some((l) => l === "no RSA host key: this host's crypto provider (noble) cannot sign with one"), nlogs.join("\n"));
});

test("a provider with no optional feature (today's native one) keeps only Ed25519; enabling the features is enough for more", () => {
  const bare = { ...node, features: [] };
  const store = memoryStore();
  const only = loadHostKeys(bare, store, () => {});
  assert.deepEqual(only.keys.all().map((k) => k.type), ["ssh-ed25519"]);
  const more = loadHostKeys(node, store, () => {});
  assert.deepEqual(more.keys.all().map((k) => k.type), ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]);
  assert.equal(more.keys.byType("ssh-ed25519")!.fingerprint, only.keys.byType("ssh-ed25519")!.fingerprint, "the Ed25519 key stays");
});

test("deferSlow: RSA is made after start-up, says so, and then joins the offer", () => {
  const logs: string[] = [];
  const loaded = loadHostKeys(node, memoryStore(), (l) => logs.push(l), { deferSlow: true });
  assert.deepEqual(loaded.pending.map((k) => k.type), ["ssh-rsa"]);
  assert.ok(logs.some((l) => /RSA host key: making one takes a while on this host, it is made after start-up/.test(l)), logs.join("\n"));
  const before = serverOffer(node, loaded.keys).hostKey;
  assert.deepEqual(before, ["ssh-ed25519", "ecdsa-sha2-nistp256"]);
  const version = loaded.keys.version;
  loaded.makeLater();
  assert.ok(loaded.keys.version > version);
  assert.deepEqual(serverOffer(node, loaded.keys).hostKey, ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"]);
  assert.ok(logs.some((l) => /generated a new RSA host key \(3072 bits/.test(l)), logs.join("\n"));
});

test("the firmware's old 32-byte Ed25519 seed still loads; a corrupt key is replaced with a log line", () => {
  const seed = new Uint8Array(32).fill(9);
  const k = parseHostKey(seed, node);
  assert.equal(k.type, "ssh-ed25519");
  const store = memoryStore();
  store.bytes.set("ssh-ed25519", seed);
  store.bytes.set("ecdsa-sha2-nistp256", new Uint8Array(100).fill(1));
  const logs: string[] = [];
  const loaded = loadHostKeys(node, store, (l) => logs.push(l));
  assert.equal(loaded.keys.byType("ssh-ed25519")!.blob.length, 51);
  assert.deepEqual(Array.from((loaded.keys.byType("ssh-ed25519")!.key as { seed: Uint8Array }).seed), Array.from(seed));
  assert.ok(logs.some((l) => /the stored ECDSA host key is unusable .*making a new one \(clients will see a changed host key\)/.test(l)), logs.join("\n"));
});

test("host keys made by ssh-keygen are used as they are (ssh-keygen -lf agrees)", () => {
  ensureTool("ssh-keygen", "openssh-client");
  const dir = tempDir("essh-hostkeys-");
  try {
    for (const [file, type] of [["ssh_host_ed25519_key", "ed25519"], ["ssh_host_ecdsa_key", "ecdsa"], ["ssh_host_rsa_key", "rsa"]]) {
      execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", join(dir.path, file)], { timeout: 60_000 });
    }
    const logs: string[] = [];
    const { keys } = loadHostKeys(node, hostKeyFiles(dir.path), (l) => logs.push(l));
    assert.deepEqual(logs, [], "nothing generated");
    for (const [file, label] of [["ssh_host_ed25519_key", "ED25519"], ["ssh_host_ecdsa_key", "ECDSA"], ["ssh_host_rsa_key", "RSA"]]) {
      const printed = execFileSync("ssh-keygen", ["-lf", join(dir.path, file)], { encoding: "utf8" });
      const key = keys.all().find((k) => k.label === label)!;
      assert.equal(printed.split(" ")[1], key.fingerprint, label);
    }
  } finally {
    dir.cleanup();
  }
});
