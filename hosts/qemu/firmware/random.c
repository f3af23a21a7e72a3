/*
 * Randomness for the firmware: a ChaCha20 DRBG with fast key erasure (each request draws
 * 32 + n bytes of keystream; the first 32 replace the key, so earlier output cannot be recomputed
 * from a later state). Seeded once at boot from the bytes the run script loads at BOARD_SEED_ADDR
 * (the host's CSPRNG), mixed with the boot time. Without a seed, asking for randomness is fatal:
 * the firmware never hands out predictable "random" bytes.
 */
#include <stdio.h>
#include <string.h>

#include "board.h"

static uint32_t drbg_key[8];
static int drbg_seeded;

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QR(a, b, c, d) \
	a += b; d ^= a; d = ROTL(d, 16); \
	c += d; b ^= c; b = ROTL(b, 12); \
	a += b; d ^= a; d = ROTL(d, 8); \
	c += d; b ^= c; b = ROTL(b, 7);

static uint32_t load32(const uint8_t* p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* One ChaCha20 block (RFC 8439 layout: 32-bit counter, 96-bit nonce). */
static void chacha20_block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t out[64])
{
	uint32_t s[16], x[16];
	s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		s[4 + i] = key[i];
	s[12] = counter;
	s[13] = nonce[0]; s[14] = nonce[1]; s[15] = nonce[2];
	memcpy(x, s, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]); QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]); QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]); QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]); QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t v = x[i] + s[i];
		out[4 * i] = (uint8_t)v; out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16); out[4 * i + 3] = (uint8_t)(v >> 24);
	}
	memset(x, 0, sizeof(x));
	memset(s, 0, sizeof(s));
}

static void drbg_generate(uint8_t* buf, size_t n, const uint32_t nonce[3])
{
	uint8_t block[64];
	uint32_t next_key[8];
	uint32_t counter = 0;
	chacha20_block(drbg_key, counter++, nonce, block);
	for (int i = 0; i < 8; i++)
		next_key[i] = load32(block + 4 * i);
	size_t off = 32;
	while (n > 0) {
		if (off == 64) {
			chacha20_block(drbg_key, counter++, nonce, block);
			off = 0;
		}
		size_t take = 64 - off < n ? 64 - off : n;
		memcpy(buf, block + off, take);
		buf += take;
		n -= take;
		off += take;
	}
	memcpy(drbg_key, next_key, sizeof(drbg_key));
	memset(next_key, 0, sizeof(next_key));
	memset(block, 0, sizeof(block));
}

void random_init(void)
{
	volatile uint8_t* seed = (volatile uint8_t*)(uintptr_t)BOARD_SEED_ADDR;
	uint8_t magic[8];
	for (int i = 0; i < 8; i++)
		magic[i] = seed[i];
	if (memcmp(magic, BOARD_SEED_MAGIC, 8) != 0) {
		printf("entropy: no seed at 0x%08lx (randomness unavailable)\n", (unsigned long)BOARD_SEED_ADDR);
		return;
	}
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = seed[8 + i];
	for (int i = 0; i < 8 + BOARD_SEED_BYTES; i++)
		seed[i] = 0; /* a warm reset must not replay the same stream */
	for (int i = 0; i < 8; i++)
		drbg_key[i] = load32(key + 4 * i);
	memset(key, 0, sizeof(key));
	/* Mix in the boot time: the seed alone already suffices, this only separates streams. */
	uint64_t t = board_mtime() ^ board_rtc_ns();
	uint32_t nonce[3] = { (uint32_t)t, (uint32_t)(t >> 32), 0x5eed };
	uint8_t discard[32];
	drbg_seeded = 1;
	drbg_generate(discard, sizeof(discard), nonce);
	memset(discard, 0, sizeof(discard));
}

int random_seeded(void)
{
	return drbg_seeded;
}

void native_random(void* buf, size_t n)
{
	static const uint32_t zero_nonce[3] = { 0, 0, 0 };
	if (!drbg_seeded) {
		printf("fatal: randomness requested but the firmware has no entropy seed\n");
		board_exit(EXIT_NO_ENTROPY);
	}
	uint8_t* p = buf;
	/* One request is at most 64 KiB of keystream under one key (counter stays small). */
	while (n > 0) {
		size_t take = n > 65536 ? 65536 : n;
		drbg_generate(p, take, zero_nonce);
		p += take;
		n -= take;
	}
}

int platform_rand(void)
{
	uint32_t v;
	native_random(&v, sizeof(v));
	return (int)(v & 0x7fffffff);
}
