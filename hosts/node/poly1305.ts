// Poly1305 (RFC 8439 section 2.5) for V8, using float64 arithmetic on six 22-bit limbs.
//
// Why: node:crypto has no standalone Poly1305, and noble's portable version (ten 13-bit limbs,
// 100 multiplications per block) is several times slower than this on V8.
//
// Exactness: the accumulator h is kept mod p = 2^130 - 5 in six 22-bit limbs (132 bits; since
// 2^132 = 4 * 2^130 = 20 (mod p), wrapped products are multiplied by 20). Before a multiplication
// every h limb is < 2^23 + 2^13, every r limb < 2^22, so each product h_i * 20 r_j < 2^49.4 and a sum
// of six of them plus a carry stays below 2^52: all float64 operations are exact integers.
// The final reduction mod p and the addition of s are done on the limbs too (no BigInt).

const L = 4194304; // 2^22
const INV_L = 1 / L; // exact power of two
const M22 = 0x3fffff;

const tail = new Uint8Array(16);

export function poly1305Fast(key: Uint8Array, msg: Uint8Array, out: Uint8Array): void {
  if (key.length !== 32) throw new RangeError('poly1305: key must be 32 bytes');
  if (out.length < 16) throw new RangeError('poly1305: out must hold 16 bytes');
  const k = key;
  const kw = (i: number) => (k[i] | (k[i + 1] << 8) | (k[i + 2] << 16) | (k[i + 3] << 24)) >>> 0;
  // r, clamped (RFC 8439 2.5.1)
  const w0 = kw(0) & 0x0fffffff;
  const w1 = kw(4) & 0x0ffffffc;
  const w2 = kw(8) & 0x0ffffffc;
  const w3 = kw(12) & 0x0ffffffc;
  const r0 = w0 & M22;
  const r1 = ((w0 >>> 22) | (w1 << 10)) & M22;
  const r2 = ((w1 >>> 12) | (w2 << 20)) & M22;
  const r3 = (w2 >>> 2) & M22;
  const r4 = ((w2 >>> 24) | (w3 << 8)) & M22;
  const r5 = w3 >>> 14;
  const s1 = 20 * r1, s2 = 20 * r2, s3 = 20 * r3, s4 = 20 * r4, s5 = 20 * r5;

  let h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0;
  const len = msg.length;
  const full = len & ~15;
  // Fast word reads: a 32-bit view when the message is 4-byte aligned (node is little endian).
  const aligned = (msg.byteOffset & 3) === 0 && full >= 512; // a view costs ~1us to create
  const w32 = aligned ? new Int32Array(msg.buffer, msg.byteOffset, full >>> 2) : null;
  let hibit = 262144; // 2^18: bit 128 of the block, in limb 5 (bits 110..131)
  for (let pos = 0; pos < len; pos += 16) {
    let m0: number, m1: number, m2: number, m3: number;
    if (pos < full) {
      if (w32 !== null) {
        const q = pos >>> 2;
        m0 = w32[q]; m1 = w32[q + 1]; m2 = w32[q + 2]; m3 = w32[q + 3];
      } else {
        const d = msg, o = pos;
        m0 = d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24);
        m1 = d[o + 4] | (d[o + 5] << 8) | (d[o + 6] << 16) | (d[o + 7] << 24);
        m2 = d[o + 8] | (d[o + 9] << 8) | (d[o + 10] << 16) | (d[o + 11] << 24);
        m3 = d[o + 12] | (d[o + 13] << 8) | (d[o + 14] << 16) | (d[o + 15] << 24);
      }
    } else {
      // Final partial block: m || 0x01 || zeros, no high bit.
      const rem = len - pos;
      for (let i = 0; i < rem; i++) tail[i] = msg[pos + i];
      tail[rem] = 1;
      for (let i = rem + 1; i < 16; i++) tail[i] = 0;
      const d = tail;
      m0 = d[0] | (d[1] << 8) | (d[2] << 16) | (d[3] << 24);
      m1 = d[4] | (d[5] << 8) | (d[6] << 16) | (d[7] << 24);
      m2 = d[8] | (d[9] << 8) | (d[10] << 16) | (d[11] << 24);
      m3 = d[12] | (d[13] << 8) | (d[14] << 16) | (d[15] << 24);
      hibit = 0;
    }
    h0 += m0 & M22;
    h1 += ((m0 >>> 22) | (m1 << 10)) & M22;
    h2 += ((m1 >>> 12) | (m2 << 20)) & M22;
    h3 += (m2 >>> 2) & M22;
    h4 += ((m2 >>> 24) | (m3 << 8)) & M22;
    h5 += (m3 >>> 14) | hibit;

    let d0 = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
    let d1 = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
    let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
    let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
    let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
    let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;

    let c = Math.floor(d0 * INV_L); h0 = d0 - c * L; d1 += c;
    c = Math.floor(d1 * INV_L); h1 = d1 - c * L; d2 += c;
    c = Math.floor(d2 * INV_L); h2 = d2 - c * L; d3 += c;
    c = Math.floor(d3 * INV_L); h3 = d3 - c * L; d4 += c;
    c = Math.floor(d4 * INV_L); h4 = d4 - c * L; d5 += c;
    c = Math.floor(d5 * INV_L); h5 = d5 - c * L;
    h0 += c * 20;
    c = Math.floor(h0 * INV_L); h0 -= c * L; h1 += c;
  }

  // Final reduction: carry fully, fold bits >= 130 (2^130 = 5 mod p) until h < 2^130.
  for (;;) {
    let c = Math.floor(h0 * INV_L); h0 -= c * L; h1 += c;
    c = Math.floor(h1 * INV_L); h1 -= c * L; h2 += c;
    c = Math.floor(h2 * INV_L); h2 -= c * L; h3 += c;
    c = Math.floor(h3 * INV_L); h3 -= c * L; h4 += c;
    c = Math.floor(h4 * INV_L); h4 -= c * L; h5 += c;
    c = Math.floor(h5 * (1 / 1048576)); // bits >= 130
    if (c === 0) break;
    h5 -= c * 1048576;
    h0 += c * 5;
  }
  // Now 0 <= h < 2^130 < 2p: subtract p once if h >= p, i.e. if h + 5 >= 2^130.
  let g0 = h0 + 5;
  let c = Math.floor(g0 * INV_L); g0 -= c * L;
  let g1 = h1 + c; c = Math.floor(g1 * INV_L); g1 -= c * L;
  let g2 = h2 + c; c = Math.floor(g2 * INV_L); g2 -= c * L;
  let g3 = h3 + c; c = Math.floor(g3 * INV_L); g3 -= c * L;
  let g4 = h4 + c; c = Math.floor(g4 * INV_L); g4 -= c * L;
  const g5 = h5 + c;
  if (g5 >= 1048576) {
    h0 = g0; h1 = g1; h2 = g2; h3 = g3; h4 = g4; h5 = g5 - 1048576;
  }
  // h mod 2^128 as four 32-bit words (limbs are < 2^22, so int32 shifts are safe), plus s.
  const a0 = (h0 | (h1 << 22)) >>> 0;
  const a1 = ((h1 >>> 10) | (h2 << 12)) >>> 0;
  const a2 = ((h2 >>> 20) | (h3 << 2) | (h4 << 24)) >>> 0;
  const a3 = ((h4 >>> 8) | (h5 << 14)) >>> 0;
  let f = a0 + kw(16);
  put32(out, 0, f);
  f = a1 + kw(20) + (f >= 4294967296 ? 1 : 0);
  put32(out, 4, f);
  f = a2 + kw(24) + (f >= 4294967296 ? 1 : 0);
  put32(out, 8, f);
  f = a3 + kw(28) + (f >= 4294967296 ? 1 : 0);
  put32(out, 12, f);
}

/** Writes the low 32 bits of a non-negative integer f < 2^33 little endian at out[i..i+4). */
function put32(out: Uint8Array, i: number, f: number): void {
  const w = f >= 4294967296 ? f - 4294967296 : f;
  out[i] = w; out[i + 1] = w >>> 8; out[i + 2] = w >>> 16; out[i + 3] = w >>> 24;
}
