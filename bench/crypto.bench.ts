// Throughput of each CryptoProvider primitive: noble, node (node:crypto + libsodium WebAssembly) and
// node+openssl (the packet crypto addon over node's OpenSSL, hosts/node/crypto_native.ts).
// Run: node --import tsx bench/crypto.bench.ts

import { randomFillSync } from 'node:crypto';
import type { CryptoProvider } from '../modules/crypto/provider.js';
import { createNobleProvider } from '../modules/crypto/noble.js';
import { loadNodeProvider } from '../hosts/node/crypto_node.js';
import { tryNativeProvider } from '../hosts/node/crypto_native.js';
import { CIPHERS } from '../modules/ssh/cipher.js';
import { MACS } from '../modules/ssh/mac.js';

// The node provider as the node host runs it (libsodium's Poly1305).
const providers: CryptoProvider[] = [createNobleProvider((out) => randomFillSync(out)), await loadNodeProvider()];
const native = tryNativeProvider((l) => console.log(l));
if (native) providers.push(native);

function rnd(n: number): Uint8Array {
  const b = new Uint8Array(n);
  randomFillSync(b);
  return b;
}

/** Runs fn for about `ms` milliseconds after a warm-up; returns operations per second. */
function measure(fn: () => void, ms = 400): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

const fmt = (opsPerSec: number, bytes?: number): string =>
  bytes === undefined
    ? `${opsPerSec.toFixed(0).padStart(9)} ops/s`
    : `${((opsPerSec * bytes) / 1e6).toFixed(1).padStart(9)} MB/s  (${(1e6 / opsPerSec).toFixed(2)} us/op)`;

const key = rnd(32), nonce = rnd(8), seed = rnd(32), scalar = rnd(32);
const msg = rnd(100);
const rows: [string, (p: CryptoProvider) => () => void, number?][] = [];
for (const size of [4, 64, 256, 1024, 32768]) {
  const buf = rnd(size);
  rows.push([`chacha20 ${size} B in place`, (p) => () => p.chacha20(key, nonce, 1, buf, buf), size]);
}
for (const size of [64, 1024, 32768]) {
  const buf = rnd(size), tag = new Uint8Array(16);
  rows.push([`poly1305 ${size} B`, (p) => () => p.poly1305(key, buf, tag), size]);
}
const big = rnd(32768);
rows.push(['sha256 32 KiB', (p) => () => p.sha256(big), 32768]);
rows.push(['sha256 100 B', (p) => () => p.sha256(msg), 100]);
rows.push(['sha512 32 KiB', (p) => () => p.sha512(big), 32768]);
const point = providers[0].x25519Public(rnd(32));
rows.push(['x25519 shared', (p) => () => p.x25519(scalar, point)]);
rows.push(['x25519 public', (p) => () => p.x25519Public(rnd(32))]);
rows.push(['ed25519 sign 100 B (same seed)', (p) => () => p.ed25519Sign(seed, msg)]);
const pub = providers[0].ed25519Public(seed), sig = providers[0].ed25519Sign(seed, msg);
rows.push(['ed25519 verify 100 B', (p) => () => { if (!p.ed25519Verify(pub, msg, sig)) throw new Error('verify'); }]);

// Whole SSH packets through the cipher table (seal then open, 32 KiB payloads, in place): what bulk
// transfer costs per cipher, AES-GCM and AES-CTR + HMAC beside chacha20-poly1305.
const PACKET = 32768;
for (const [cipher, mac] of [
  ['chacha20-poly1305@openssh.com', null], ['aes128-gcm@openssh.com', null], ['aes256-gcm@openssh.com', null],
  ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'], ['aes256-ctr', 'hmac-sha2-256'],
] as const) {
  rows.push([`packet ${cipher}${mac ? ' + ' + mac.replace('@openssh.com', '') : ''} 32 KiB`, (p) => {
    const spec = CIPHERS[cipher];
    const k = rnd(spec.keyLength), iv = rnd(spec.ivLength), mk = mac ? rnd(MACS[mac].keyLength) : null;
    const tx = spec.create(p, k, iv, mac ? MACS[mac] : null, mk), rx = spec.create(p, k, iv, mac ? MACS[mac] : null, mk);
    const buf = new Uint8Array(4 + PACKET + 64);
    buf[2] = PACKET >> 8; // packet_length = PACKET (a multiple of every block size)
    let seq = 0;
    return () => {
      tx.seal(seq, buf, 0, PACKET);
      rx.decryptLength(seq, buf, 0);
      if (!rx.open(seq, buf, 0, PACKET)) throw new Error('open');
      seq++;
    };
  }, PACKET]);
}

for (const [name, make, bytes] of rows) {
  const cols = providers.map((p) => `${p.name}: ${fmt(measure(make(p)), bytes)}`);
  console.log(`${name.padEnd(52)} ${cols.join('   ')}`);
}
