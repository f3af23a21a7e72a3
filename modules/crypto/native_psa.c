/* Native crypto hooks over the PSA Crypto API: SHA-384, HMAC-SHA-256/512, AES-GCM, AES-CTR, ECDH
 * and ECDSA on P-256/384/521, RSASSA-PKCS1-v1_5 with SHA-256/512 and RSA key generation. See
 * native_crypto.h for the conventions and native.ts for the provider built on them.
 *
 * Only psa_* calls: on ESP-IDF v6.0 (Mbed TLS 4.0, TF-PSA-Crypto) PSA is the only crypto API and
 * its drivers use the ESP32's AES, SHA and RSA (MPI) accelerators; the Linux xsrun and the QEMU
 * firmware build Mbed TLS 3.6, whose PSA API is the same, with hosts/qemu/mbedtls/'s configuration.
 *
 * Keys: a key that serves many packets (AES-GCM, AES-CTR) is imported once into a PSA key slot and
 * kept in a host object (GcmKey, CtrStream) until dispose() or the object's destructor; HMAC keys
 * keep the two hash states after the inner and outer pad (psa_hash_clone per packet), so the pads
 * are hashed once per key. Keys used once per key exchange or login (ECDH, ECDSA, RSA) are imported,
 * used and destroyed within the call. PSA's key store is bounded (MBEDTLS_PSA_KEY_SLOT_COUNT in
 * this project's configuration); a full store makes the constructor throw.
 *
 * The per-packet hooks work in place in the caller's buffer and allocate nothing themselves; PSA may
 * within a call (Mbed TLS 3.6 sets up the AES context of each GCM operation in its cipher layer: one
 * 280-byte block, freed before the call returns; HMAC and CTR allocate nothing per packet). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <psa/crypto.h>
#include "xsmc.h"
#include "native_crypto.h"

#if defined(NATIVE_PSA_HEAP_STATS)
#include "mbedtls/platform.h"
#endif

/* AES-GCM (NIST SP 800-38D) as SSH uses it (RFC 5647): 96-bit nonce, 128-bit tag. */
#define GCM_NONCE_BYTES 12
#define GCM_TAG_BYTES 16
/* AES-CTR (NIST SP 800-38A): the 16-byte initial counter block; the block size. */
#define CTR_IV_BYTES 16
#define AES_BLOCK_BYTES 16
/* The SSH MAC input starts with the packet's 32-bit sequence number (RFC 4253 6.4). */
#define HMAC_SEQUENCE_BYTES 4
/* SHA-512's block; SHA-256's is 64. The HMAC pads are one block each (RFC 2104). */
#define HMAC_MAX_BLOCK_BYTES 128
/* Largest modulus accepted: PSA's own limit (Mbed TLS 3.6: PSA_VENDOR_RSA_MAX_KEY_BITS, 4096), so
 * a peer's 64 KiB modulus is refused before any arithmetic. */
#define RSA_MAX_BITS PSA_VENDOR_RSA_MAX_KEY_BITS
#define RSA_MIN_GENERATE_BITS 1024
/* Tags on the host objects' data: a hook given another kind of host object throws. */
#define HMAC_MAGIC 0x484d4143u /* "HMAC" */
#define GCM_MAGIC 0x4743414du  /* "GCAM" */
#define CTR_MAGIC 0x43545221u  /* "CTR!" */

/* ---------------------------------------------------------------------------------------------- */
/* PSA setup, the random source, the heap figures */

#if defined(NATIVE_PSA_EXTERNAL_RNG)
/* MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG: PSA's random bytes come from the platform's source. */
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t *context, uint8_t *output,
	size_t output_size, size_t *output_length)
{
	(void)context;
	native_random(output, output_size);
	*output_length = output_size;
	return PSA_SUCCESS;
}
#endif

#if defined(NATIVE_PSA_HEAP_STATS)
/* Mbed TLS's allocations (MBEDTLS_PLATFORM_MEMORY), counted: each block carries its size in a
 * header of NATIVE_HEAP_HEADER bytes (keeps malloc's alignment). */
#define NATIVE_HEAP_HEADER 8
static size_t heap_in_use, heap_peak, heap_allocations;

static void *counted_calloc(size_t count, size_t size)
{
	size_t bytes;
	uint8_t *block;
	if (size && count > (SIZE_MAX - NATIVE_HEAP_HEADER) / size)
		return NULL;
	bytes = count * size;
	block = calloc(1, bytes + NATIVE_HEAP_HEADER);
	if (!block)
		return NULL;
	memcpy(block, &bytes, sizeof(bytes));
	heap_in_use += bytes;
	heap_allocations++;
	if (heap_in_use > heap_peak)
		heap_peak = heap_in_use;
	return block + NATIVE_HEAP_HEADER;
}

static void counted_free(void *pointer)
{
	size_t bytes;
	uint8_t *block;
	if (!pointer)
		return;
	block = (uint8_t *)pointer - NATIVE_HEAP_HEADER;
	memcpy(&bytes, block, sizeof(bytes));
	heap_in_use -= bytes;
	free(block);
}
#endif

/* psa_crypto_init() once (PSA requires it before anything else; later calls are cheap). */
static void psa_ready(xsMachine *the)
{
	static int ready;
	psa_status_t status;
	if (ready)
		return;
#if defined(NATIVE_PSA_HEAP_STATS)
	mbedtls_platform_set_calloc_free(counted_calloc, counted_free);
#endif
	status = psa_crypto_init();
	if (status != PSA_SUCCESS)
		xsUnknownError("psa: psa_crypto_init failed (%d)", (int)status);
	ready = 1;
}

/* features() -> the NATIVE_PSA_* bits of what this build's PSA configuration provides. */
void xs_native_psa_features(xsMachine *the)
{
	int bits = 0;
#if defined(PSA_WANT_ALG_SHA_384)
	bits |= NATIVE_PSA_SHA384;
#endif
#if defined(PSA_WANT_ALG_SHA_256)
	bits |= NATIVE_PSA_HMAC_SHA256;
#endif
#if defined(PSA_WANT_ALG_SHA_512)
	bits |= NATIVE_PSA_HMAC_SHA512;
#endif
#if defined(PSA_WANT_KEY_TYPE_AES) && defined(PSA_WANT_ALG_GCM)
	bits |= NATIVE_PSA_AES_GCM;
#endif
#if defined(PSA_WANT_KEY_TYPE_AES) && defined(PSA_WANT_ALG_CTR)
	bits |= NATIVE_PSA_AES_CTR;
#endif
#if defined(PSA_WANT_ALG_ECDH) && defined(PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_IMPORT) && defined(PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_EXPORT) && \
	defined(PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_GENERATE)
#if defined(PSA_WANT_ECC_SECP_R1_256)
	bits |= NATIVE_PSA_ECDH_P256;
#endif
#if defined(PSA_WANT_ECC_SECP_R1_384)
	bits |= NATIVE_PSA_ECDH_P384;
#endif
#if defined(PSA_WANT_ECC_SECP_R1_521)
	bits |= NATIVE_PSA_ECDH_P521;
#endif
#endif
#if defined(PSA_WANT_ALG_ECDSA) && defined(PSA_WANT_KEY_TYPE_ECC_PUBLIC_KEY) && defined(PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_IMPORT) && \
	defined(PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_EXPORT) && defined(PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_GENERATE)
#if defined(PSA_WANT_ECC_SECP_R1_256) && defined(PSA_WANT_ALG_SHA_256)
	bits |= NATIVE_PSA_ECDSA_P256;
#endif
#if defined(PSA_WANT_ECC_SECP_R1_384) && defined(PSA_WANT_ALG_SHA_384)
	bits |= NATIVE_PSA_ECDSA_P384;
#endif
#if defined(PSA_WANT_ECC_SECP_R1_521) && defined(PSA_WANT_ALG_SHA_512)
	bits |= NATIVE_PSA_ECDSA_P521;
#endif
#endif
#if defined(PSA_WANT_ALG_RSA_PKCS1V15_SIGN) && defined(PSA_WANT_KEY_TYPE_RSA_PUBLIC_KEY) && defined(PSA_WANT_KEY_TYPE_RSA_KEY_PAIR_IMPORT) && \
	defined(PSA_WANT_ALG_SHA_256) && defined(PSA_WANT_ALG_SHA_512)
	bits |= NATIVE_PSA_RSA;
#if defined(PSA_WANT_KEY_TYPE_RSA_KEY_PAIR_GENERATE) && defined(PSA_WANT_KEY_TYPE_RSA_KEY_PAIR_EXPORT)
	bits |= NATIVE_PSA_RSA_GENERATE;
#endif
#endif
	xsmcSetInteger(xsResult, bits);
}

/* heap(resetPeak) -> { inUse, peak, allocations }: Mbed TLS's own heap use (bytes now, the most
 * since the last reset, blocks allocated so far), or undefined when the build does not count it
 * (on the ESP32 ESP-IDF's allocator serves Mbed TLS). */
void xs_native_psa_heap(xsMachine *the)
{
#if defined(NATIVE_PSA_HEAP_STATS)
	psa_ready(the);
	if (xsmcArgc > 0 && xsmcTest(xsArg(0)))
		heap_peak = heap_in_use;
	xsmcVars(1);
	xsmcSetNewObject(xsResult);
	xsmcSetNumber(xsVar(0), (double)heap_in_use);
	xsmcSet(xsResult, xsID("inUse"), xsVar(0));
	xsmcSetNumber(xsVar(0), (double)heap_peak);
	xsmcSet(xsResult, xsID("peak"), xsVar(0));
	xsmcSetNumber(xsVar(0), (double)heap_allocations);
	xsmcSet(xsResult, xsID("allocations"), xsVar(0));
#else
	xsmcSetUndefined(xsResult);
#endif
}

/* Throws for a PSA status that means the platform failed (memory, a full key store), not the
 * input: those are the caller's to report. */
static void check(xsMachine *the, psa_status_t status, const char *what)
{
	if (status == PSA_SUCCESS)
		return;
	if (status == PSA_ERROR_INSUFFICIENT_MEMORY)
		xsUnknownError("%s: out of memory (PSA key store or heap)", what);
	xsUnknownError("%s: PSA error %d", what, (int)status);
}

/* Hash algorithm of a size in bits (256, 384, 512), else RangeError. */
static psa_algorithm_t hash_of(xsMachine *the, int bits, const char *what)
{
	if (bits == 256)
		return PSA_ALG_SHA_256;
	if (bits == 384)
		return PSA_ALG_SHA_384;
	if (bits == 512)
		return PSA_ALG_SHA_512;
	xsRangeError("%s: no SHA-2 hash of %d bits", what, bits);
	return 0;
}

/* The caller's buffer from off, at least `need` bytes long, else RangeError. */
static uint8_t *arg_region(xsMachine *the, int i, size_t off, size_t need, const char *what)
{
	xsUnsignedValue length;
	uint8_t *data = native_arg_buffer(the, i, &length, 1);
	if (off > length || need > length - off)
		xsRangeError("%s: %u bytes at %u do not fit in %u", what, (unsigned)need, (unsigned)off, (unsigned)length);
	return data + off;
}

/* Key objects: host objects whose C data starts with a magic number naming their kind (0 once
 * disposed), made and checked by these, each kind with its own destructor (XS checks it too). */
typedef struct {
	uint32_t magic;
} native_key;

/* Defines the destructor of a kind of key object: its release function, then free. */
#define KEY_DESTRUCTOR(name, release) \
	static void name(void *data) \
	{ \
		if (data) { \
			release(data); \
			free(data); \
		} \
	}

/* A new key object in xsResult with `size` zeroed bytes of C data (before any buffer pointer is
 * taken: this allocates in the XS heap). */
static void *new_key(xsMachine *the, size_t size, xsDestructor destructor, const char *what)
{
	void *data;
	xsResult = xsNewHostObject(destructor);
	data = calloc(1, size);
	if (!data)
		xsUnknownError("%s: out of memory", what);
	xsmcSetHostData(xsResult, data);
	return data;
}

/* The C data of argument i, a key object of this kind not disposed, else TypeError. */
static void *key_of(xsMachine *the, int i, xsDestructor destructor, uint32_t magic, const char *what)
{
	native_key *k = xsmcGetHostDataValidate(xsArg(i), destructor);
	if (!k || k->magic != magic)
		xsTypeError("%s: the key was disposed", what);
	return k;
}

/* dispose(): releases the key's C state at once (the object stays, unusable). */
static void key_dispose(xsMachine *the, xsDestructor destructor, uint32_t magic, void (*release)(void *data))
{
	native_key *k = xsmcGetHostDataValidate(xsArg(0), destructor);
	if (k && k->magic == magic)
		release(k);
}

/* ---------------------------------------------------------------------------------------------- */
/* SHA-384 */

/* sha384(data, out): SHA-384 (FIPS 180-4) of data into out[0..48). */
void xs_native_psa_sha384(xsMachine *the)
{
	xsUnsignedValue length;
	size_t written;
	uint8_t *out;
	const uint8_t *data;
	psa_ready(the);
	out = native_arg_out(the, 1, PSA_HASH_LENGTH(PSA_ALG_SHA_384), "sha384: out");
	data = native_arg_buffer(the, 0, &length, 0);
	check(the, psa_hash_compute(PSA_ALG_SHA_384, data, length, out, PSA_HASH_LENGTH(PSA_ALG_SHA_384), &written), "sha384");
}

/* ---------------------------------------------------------------------------------------------- */
/* HMAC (RFC 2104) as the SSH MACs use it (RFC 4253 6.4, RFC 6668): HMAC(key, uint32 seq || data) */

typedef struct {
	uint32_t magic;
	psa_algorithm_t hash;
	size_t size;
	psa_hash_operation_t inner; /* after the key ^ ipad block */
	psa_hash_operation_t outer; /* after the key ^ opad block */
} native_hmac;

static void hmac_release(void *data)
{
	native_hmac *h = data;
	psa_hash_abort(&h->inner);
	psa_hash_abort(&h->outer);
	memset(h, 0, sizeof(*h));
}
KEY_DESTRUCTOR(hmac_destructor, hmac_release)

/* hmacKey(hashBits, key) -> an HmacKey host object (hashBits 256 or 512; key of any length). */
void xs_native_psa_hmac_key(xsMachine *the)
{
	uint8_t block[HMAC_MAX_BLOCK_BYTES], pad[HMAC_MAX_BLOCK_BYTES];
	size_t blockBytes, keyLength, i;
	xsUnsignedValue length;
	const uint8_t *key;
	native_hmac *h;
	psa_status_t status;
	int bits;
	psa_ready(the);
	bits = (int)native_arg_integer(the, 0, 512, "hmac: hash");
	if (bits != 256 && bits != 512)
		xsRangeError("hmac: hash must be SHA-256 or SHA-512");
	h = new_key(the, sizeof(*h), hmac_destructor, "hmac");
	h->hash = hash_of(the, bits, "hmac");
	h->size = PSA_HASH_LENGTH(h->hash);
	blockBytes = PSA_HASH_BLOCK_LENGTH(h->hash);
	h->inner = psa_hash_operation_init();
	h->outer = psa_hash_operation_init();
	/* The key after the host object exists: pointers are fetched after any allocation. */
	key = native_arg_buffer(the, 1, &length, 0);
	/* K0 (FIPS 198-1 4): the key, or its hash when longer than a block, zero-padded to a block.
	 * PSA leaves the output buffer beyond the hash undefined (Mbed TLS fills it), so the padding
	 * is written after the hash. */
	keyLength = length;
	if (length > blockBytes)
		check(the, psa_hash_compute(h->hash, key, length, block, sizeof(block), &keyLength), "hmac");
	else
		memcpy(block, key, length);
	memset(block + keyLength, 0, sizeof(block) - keyLength);
	for (i = 0; i < blockBytes; i++)
		pad[i] = block[i] ^ 0x36;
	status = psa_hash_setup(&h->inner, h->hash);
	if (status == PSA_SUCCESS)
		status = psa_hash_update(&h->inner, pad, blockBytes);
	for (i = 0; i < blockBytes; i++)
		pad[i] = block[i] ^ 0x5c;
	if (status == PSA_SUCCESS)
		status = psa_hash_setup(&h->outer, h->hash);
	if (status == PSA_SUCCESS)
		status = psa_hash_update(&h->outer, pad, blockBytes);
	memset(block, 0, sizeof(block));
	memset(pad, 0, sizeof(pad));
	check(the, status, "hmac");
	h->magic = HMAC_MAGIC;
}

/* hmacMac(hmacKey, seq, buf, off, len, out, outOff): HMAC(key, uint32 seq || buf[off, off+len))
 * into out[outOff, outOff + size). */
void xs_native_psa_hmac_mac(xsMachine *the)
{
	uint8_t sequence[HMAC_SEQUENCE_BYTES], inner[PSA_HASH_MAX_SIZE];
	psa_hash_operation_t op = PSA_HASH_OPERATION_INIT;
	size_t off, len, outOff, written;
	uint32_t seq;
	const uint8_t *data;
	uint8_t *out;
	native_hmac *h;
	psa_status_t status;
	if (xsmcArgc < 7)
		xsTypeError("hmac: 7 arguments expected");
	seq = (uint32_t)native_arg_integer(the, 1, 4294967295.0, "hmac: sequence number");
	off = (size_t)native_arg_integer(the, 3, 2147483647.0, "hmac: offset");
	len = (size_t)native_arg_integer(the, 4, 2147483647.0, "hmac: length");
	outOff = (size_t)native_arg_integer(the, 6, 2147483647.0, "hmac: output offset");
	h = key_of(the, 0, hmac_destructor, HMAC_MAGIC, "hmac");
	data = arg_region(the, 2, off, len, "hmac: data");
	out = arg_region(the, 5, outOff, h->size, "hmac: out");
	sequence[0] = (uint8_t)(seq >> 24);
	sequence[1] = (uint8_t)(seq >> 16);
	sequence[2] = (uint8_t)(seq >> 8);
	sequence[3] = (uint8_t)seq;
	status = psa_hash_clone(&h->inner, &op);
	if (status == PSA_SUCCESS)
		status = psa_hash_update(&op, sequence, sizeof(sequence));
	if (status == PSA_SUCCESS)
		status = psa_hash_update(&op, data, len);
	if (status == PSA_SUCCESS)
		status = psa_hash_finish(&op, inner, sizeof(inner), &written);
	psa_hash_abort(&op);
	if (status == PSA_SUCCESS)
		status = psa_hash_clone(&h->outer, &op);
	if (status == PSA_SUCCESS)
		status = psa_hash_update(&op, inner, h->size);
	if (status == PSA_SUCCESS)
		status = psa_hash_finish(&op, out, h->size, &written);
	psa_hash_abort(&op);
	memset(inner, 0, sizeof(inner));
	check(the, status, "hmac");
}

/* hmacDispose(hmacKey): forgets the key; the object is unusable afterwards. */
void xs_native_psa_hmac_dispose(xsMachine *the)
{
	key_dispose(the, hmac_destructor, HMAC_MAGIC, hmac_release);
}

/* ---------------------------------------------------------------------------------------------- */
/* AES-GCM in the SSH packet layout (RFC 5647, OpenSSH PROTOCOL 1.6): buf[off, off+aadLength) is the
 * additional data (the 4-byte packet length), the `length` bytes after it are encrypted in place,
 * the 16-byte tag follows them. */

typedef struct {
	uint32_t magic;
	psa_key_id_t key;
} native_gcm;

static void gcm_release(void *data)
{
	native_gcm *g = data;
	if (g->key)
		psa_destroy_key(g->key);
	memset(g, 0, sizeof(*g));
}
KEY_DESTRUCTOR(gcm_destructor, gcm_release)

/* Imports an AES key (16, 24 or 32 bytes) for `alg` and `usage`. */
static psa_key_id_t import_aes(xsMachine *the, const uint8_t *key, size_t length, psa_algorithm_t alg, psa_key_usage_t usage,
	const char *what)
{
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id = 0;
	psa_status_t status;
	psa_set_key_type(&attributes, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&attributes, PSA_BYTES_TO_BITS(length));
	psa_set_key_usage_flags(&attributes, usage);
	psa_set_key_algorithm(&attributes, alg);
	status = psa_import_key(&attributes, key, length, &id);
	psa_reset_key_attributes(&attributes);
	check(the, status, what);
	return id;
}

/* gcmKey(key) -> a GcmKey host object for a 16- or 32-byte AES key. */
void xs_native_psa_gcm_key(xsMachine *the)
{
	xsUnsignedValue length;
	const uint8_t *key;
	native_gcm *g;
	psa_ready(the);
	native_arg_buffer(the, 0, &length, 0);
	if (length != 16 && length != 32)
		xsRangeError("aes-gcm: key must be 16 or 32 bytes");
	g = new_key(the, sizeof(*g), gcm_destructor, "aes-gcm");
	key = native_arg_buffer(the, 0, &length, 0);
	g->key = import_aes(the, key, length, PSA_ALG_GCM, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT, "aes-gcm");
	g->magic = GCM_MAGIC;
}

typedef struct {
	native_gcm *key;
	const uint8_t *iv;
	uint8_t *aad;    /* buf + off */
	size_t aadLength;
	uint8_t *text;   /* aad + aadLength */
	size_t length;
} gcm_args;

/* The arguments (gcmKey, iv, buf, off, aadLength, length) of gcmSeal and gcmOpen. */
static void gcm_arguments(xsMachine *the, gcm_args *a, const char *what)
{
	size_t off;
	if (xsmcArgc < 6)
		xsTypeError("%s: 6 arguments expected", what);
	off = (size_t)native_arg_integer(the, 3, 2147483647.0, "aes-gcm: offset");
	a->aadLength = (size_t)native_arg_integer(the, 4, 65536, "aes-gcm: additional data length");
	a->length = (size_t)native_arg_integer(the, 5, 2147483647.0, "aes-gcm: length");
	a->key = key_of(the, 0, gcm_destructor, GCM_MAGIC, "aes-gcm");
	a->iv = native_arg_exact(the, 1, GCM_NONCE_BYTES, 0, "aes-gcm: iv");
	a->aad = arg_region(the, 2, off, a->aadLength + a->length + GCM_TAG_BYTES, "aes-gcm: packet");
	a->text = a->aad + a->aadLength;
}

/* gcmSeal(gcmKey, iv, buf, off, aadLength, length): encrypts in place, writes the tag after. */
void xs_native_psa_gcm_seal(xsMachine *the)
{
	gcm_args a;
	size_t written;
	psa_status_t status;
	gcm_arguments(the, &a, "aes-gcm seal");
	status = psa_aead_encrypt(a.key->key, PSA_ALG_GCM, a.iv, GCM_NONCE_BYTES, a.aad, a.aadLength, a.text, a.length, a.text,
		a.length + GCM_TAG_BYTES, &written);
	check(the, status, "aes-gcm seal");
	if (written != a.length + GCM_TAG_BYTES)
		xsUnknownError("aes-gcm seal: %u bytes written", (unsigned)written);
}

/* One multi-part GCM pass over a.text in place (encrypting or decrypting), the operation left open
 * for the caller to finish or abort. */
static psa_status_t gcm_pass(psa_aead_operation_t *op, gcm_args *a, int decrypt)
{
	size_t written;
	psa_status_t status = decrypt ? psa_aead_decrypt_setup(op, a->key->key, PSA_ALG_GCM)
		: psa_aead_encrypt_setup(op, a->key->key, PSA_ALG_GCM);
	if (status == PSA_SUCCESS)
		status = psa_aead_set_nonce(op, a->iv, GCM_NONCE_BYTES);
	if (status == PSA_SUCCESS && a->aadLength)
		status = psa_aead_update_ad(op, a->aad, a->aadLength);
	if (status == PSA_SUCCESS && a->length) {
		status = psa_aead_update(op, a->text, a->length, a->text, a->length, &written);
		if (status == PSA_SUCCESS && written != a->length)
			status = PSA_ERROR_CORRUPTION_DETECTED;
	}
	return status;
}

/* gcmOpen(gcmKey, iv, buf, off, aadLength, length) -> boolean: true when the tag holds, the text
 * then decrypted in place; false with buf unchanged when it does not. PSA's one-shot decryption
 * would wipe the output on a bad tag, so this decrypts in parts, verifies, and on a bad tag runs the
 * same key stream over the text again to give the ciphertext back (the tag is never computed for
 * it, nothing new is revealed). */
void xs_native_psa_gcm_open(xsMachine *the)
{
	uint8_t tag[GCM_TAG_BYTES], none[GCM_TAG_BYTES];
	psa_aead_operation_t op = PSA_AEAD_OPERATION_INIT;
	size_t written;
	gcm_args a;
	psa_status_t status;
	gcm_arguments(the, &a, "aes-gcm open");
	memcpy(tag, a.text + a.length, GCM_TAG_BYTES);
	status = gcm_pass(&op, &a, 1);
	if (status == PSA_SUCCESS)
		status = psa_aead_verify(&op, none, sizeof(none), &written, tag, GCM_TAG_BYTES);
	psa_aead_abort(&op);
	if (status == PSA_SUCCESS) {
		xsmcSetBoolean(xsResult, 1);
		return;
	}
	if (status != PSA_ERROR_INVALID_SIGNATURE)
		check(the, status, "aes-gcm open");
	status = gcm_pass(&op, &a, 0); /* the text back to what it was */
	psa_aead_abort(&op);
	check(the, status, "aes-gcm open");
	xsmcSetBoolean(xsResult, 0);
}

/* gcmDispose(gcmKey): destroys the PSA key; the object is unusable afterwards. */
void xs_native_psa_gcm_dispose(xsMachine *the)
{
	key_dispose(the, gcm_destructor, GCM_MAGIC, gcm_release);
}

/* ---------------------------------------------------------------------------------------------- */
/* AES-CTR (NIST SP 800-38A 6.5) as aes*-ctr uses it (RFC 4344): one key stream for the key's life */

typedef struct {
	uint32_t magic;
	psa_key_id_t key;
	psa_cipher_operation_t op;
	uint32_t position; /* bytes of key stream used, mod the block size */
} native_ctr;

static void ctr_release(void *data)
{
	native_ctr *c = data;
	psa_cipher_abort(&c->op);
	if (c->key)
		psa_destroy_key(c->key);
	memset(c, 0, sizeof(*c));
}
KEY_DESTRUCTOR(ctr_destructor, ctr_release)

/* ctrStream(key, iv) -> a CtrStream host object: a 16-, 24- or 32-byte AES key and the 16-byte
 * initial counter block. */
void xs_native_psa_ctr_stream(xsMachine *the)
{
	xsUnsignedValue length;
	const uint8_t *key, *iv;
	native_ctr *c;
	psa_status_t status;
	psa_ready(the);
	native_arg_buffer(the, 0, &length, 0);
	if (length != 16 && length != 24 && length != 32)
		xsRangeError("aes-ctr: key must be 16, 24 or 32 bytes");
	native_arg_exact(the, 1, CTR_IV_BYTES, 0, "aes-ctr: iv");
	c = new_key(the, sizeof(*c), ctr_destructor, "aes-ctr");
	c->op = psa_cipher_operation_init();
	key = native_arg_buffer(the, 0, &length, 0);
	c->key = import_aes(the, key, length, PSA_ALG_CTR, PSA_KEY_USAGE_ENCRYPT, "aes-ctr");
	iv = native_arg_exact(the, 1, CTR_IV_BYTES, 0, "aes-ctr: iv");
	status = psa_cipher_encrypt_setup(&c->op, c->key, PSA_ALG_CTR);
	if (status == PSA_SUCCESS)
		status = psa_cipher_set_iv(&c->op, iv, CTR_IV_BYTES);
	check(the, status, "aes-ctr");
	c->magic = CTR_MAGIC;
}

/* ctrProcess(ctrStream, buf, off, length): XORs the next `length` bytes of key stream into
 * buf[off, off+length). Mbed TLS refuses in-place updates that leave or start within a block
 * (cipher.c), so whole blocks go in place and the bytes of a started block through a block-sized
 * copy on the stack. */
void xs_native_psa_ctr_process(xsMachine *the)
{
	uint8_t partial[AES_BLOCK_BYTES];
	size_t off, length, n, written;
	native_ctr *c;
	uint8_t *p;
	psa_status_t status = PSA_SUCCESS;
	if (xsmcArgc < 4)
		xsTypeError("aes-ctr: 4 arguments expected");
	off = (size_t)native_arg_integer(the, 2, 2147483647.0, "aes-ctr: offset");
	length = (size_t)native_arg_integer(the, 3, 2147483647.0, "aes-ctr: length");
	c = key_of(the, 0, ctr_destructor, CTR_MAGIC, "aes-ctr");
	p = arg_region(the, 1, off, length, "aes-ctr: data");
	while (length && status == PSA_SUCCESS) {
		if (c->position == 0 && length >= AES_BLOCK_BYTES) {
			n = length - length % AES_BLOCK_BYTES;
			status = psa_cipher_update(&c->op, p, n, p, n, &written);
		}
		else {
			n = AES_BLOCK_BYTES - c->position;
			if (n > length)
				n = length;
			memcpy(partial, p, n);
			status = psa_cipher_update(&c->op, partial, n, p, n, &written);
		}
		if (status == PSA_SUCCESS && written != n)
			status = PSA_ERROR_CORRUPTION_DETECTED;
		c->position = (uint32_t)((c->position + n) % AES_BLOCK_BYTES);
		p += n;
		length -= n;
	}
	memset(partial, 0, sizeof(partial));
	check(the, status, "aes-ctr");
}

/* ctrDispose(ctrStream): ends the stream and destroys the key. */
void xs_native_psa_ctr_dispose(xsMachine *the)
{
	key_dispose(the, ctr_destructor, CTR_MAGIC, ctr_release);
}

/* ---------------------------------------------------------------------------------------------- */
/* ECDH and ECDSA on the NIST curves (SEC 1; RFC 5656): private keys as fixed-length big-endian
 * scalars, public keys as uncompressed points (0x04 || X || Y). */

/* The curve of a size in bits (256, 384, 521): its field length in bytes, else RangeError. */
static size_t curve_bytes(xsMachine *the, int bits)
{
	if (bits != 256 && bits != 384 && bits != 521)
		xsRangeError("ec: no curve P-%d", bits);
	return PSA_BITS_TO_BYTES((size_t)bits);
}

/* The hash RFC 5656 6.2.1 pairs with a curve. */
static psa_algorithm_t curve_hash(int bits)
{
	return bits == 256 ? PSA_ALG_SHA_256 : bits == 384 ? PSA_ALG_SHA_384 : PSA_ALG_SHA_512;
}

/* Imports an EC key of `bits` (key pair from a scalar, or public from an uncompressed point).
 * Returns the PSA status; *id is set on success. */
static psa_status_t import_ec(int bits, int pair, const uint8_t *data, size_t length, psa_key_usage_t usage, psa_algorithm_t alg,
	psa_key_id_t *id)
{
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	psa_status_t status;
	psa_set_key_type(&attributes, pair ? PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1) : PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(&attributes, (size_t)bits);
	psa_set_key_usage_flags(&attributes, usage);
	psa_set_key_algorithm(&attributes, alg);
	status = psa_import_key(&attributes, data, length, id);
	psa_reset_key_attributes(&attributes);
	return status;
}

/* True for an uncompressed point of the curve's length (PSA checks that it is on the curve). */
static int uncompressed(const uint8_t *point, size_t length, size_t fieldBytes)
{
	return length == 1 + 2 * fieldBytes && point[0] == 0x04;
}

/* ecGenerate(curveBits, privateOut, publicOut): a fresh key pair. */
void xs_native_psa_ec_generate(xsMachine *the)
{
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id = 0;
	size_t bytes, written;
	uint8_t *privateOut, *publicOut;
	psa_status_t status;
	int bits;
	psa_ready(the);
	bits = (int)native_arg_integer(the, 0, 521, "ec: curve");
	bytes = curve_bytes(the, bits);
	privateOut = native_arg_out(the, 1, bytes, "ec: private key");
	publicOut = native_arg_out(the, 2, 1 + 2 * bytes, "ec: public key");
	psa_set_key_type(&attributes, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
	psa_set_key_bits(&attributes, (size_t)bits);
	psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_EXPORT);
	status = psa_generate_key(&attributes, &id);
	psa_reset_key_attributes(&attributes);
	if (status == PSA_SUCCESS)
		status = psa_export_key(id, privateOut, bytes, &written);
	if (status == PSA_SUCCESS && written != bytes)
		status = PSA_ERROR_CORRUPTION_DETECTED;
	if (status == PSA_SUCCESS)
		status = psa_export_public_key(id, publicOut, 1 + 2 * bytes, &written);
	if (id)
		psa_destroy_key(id);
	check(the, status, "ec: generate");
}

/* ecPublic(curveBits, private, publicOut) -> boolean: the public point of a private scalar; false
 * for a scalar of the wrong length, zero, or not below the group order. */
void xs_native_psa_ec_public(xsMachine *the)
{
	psa_key_id_t id = 0;
	xsUnsignedValue length;
	size_t bytes, written;
	const uint8_t *privateKey;
	uint8_t *publicOut;
	psa_status_t status;
	int bits;
	psa_ready(the);
	bits = (int)native_arg_integer(the, 0, 521, "ec: curve");
	bytes = curve_bytes(the, bits);
	publicOut = native_arg_out(the, 2, 1 + 2 * bytes, "ec: public key");
	privateKey = native_arg_buffer(the, 1, &length, 0);
	if (length != bytes) {
		xsmcSetBoolean(xsResult, 0);
		return;
	}
	status = import_ec(bits, 1, privateKey, length, PSA_KEY_USAGE_EXPORT, 0, &id);
	if (status == PSA_ERROR_INVALID_ARGUMENT) {
		xsmcSetBoolean(xsResult, 0);
		return;
	}
	if (status == PSA_SUCCESS)
		status = psa_export_public_key(id, publicOut, 1 + 2 * bytes, &written);
	if (id)
		psa_destroy_key(id);
	check(the, status, "ec: public key");
	xsmcSetBoolean(xsResult, 1);
}

/* ecdh(curveBits, private, peerPublic, out) -> boolean: the X coordinate of private * peerPublic
 * into out[0..fieldBytes); false when peerPublic is not an uncompressed point on the curve (PSA
 * validates it fully, SEC 1 3.2.2.1). A bad private scalar throws RangeError. */
void xs_native_psa_ecdh(xsMachine *the)
{
	psa_key_id_t id = 0;
	xsUnsignedValue privateLength, peerLength;
	size_t bytes, written;
	const uint8_t *privateKey, *peer;
	uint8_t *out;
	psa_status_t status;
	int bits;
	psa_ready(the);
	bits = (int)native_arg_integer(the, 0, 521, "ecdh: curve");
	bytes = curve_bytes(the, bits);
	out = native_arg_out(the, 3, bytes, "ecdh: out");
	privateKey = native_arg_buffer(the, 1, &privateLength, 0);
	peer = native_arg_buffer(the, 2, &peerLength, 0);
	if (privateLength != bytes)
		xsRangeError("ecdh: private key must be %u bytes", (unsigned)bytes);
	status = import_ec(bits, 1, privateKey, privateLength, PSA_KEY_USAGE_DERIVE, PSA_ALG_ECDH, &id);
	if (status == PSA_ERROR_INVALID_ARGUMENT)
		xsRangeError("ecdh: invalid private key");
	check(the, status, "ecdh");
	if (!uncompressed(peer, peerLength, bytes)) {
		psa_destroy_key(id);
		xsmcSetBoolean(xsResult, 0);
		return;
	}
	status = psa_raw_key_agreement(PSA_ALG_ECDH, id, peer, peerLength, out, bytes, &written);
	psa_destroy_key(id);
	if (status == PSA_ERROR_INVALID_ARGUMENT) {
		memset(out, 0, bytes);
		xsmcSetBoolean(xsResult, 0);
		return;
	}
	check(the, status, "ecdh");
	xsmcSetBoolean(xsResult, written == bytes);
}

/* ecdsaSign(curveBits, private, message, signatureOut): r || s (2 * fieldBytes) of message hashed
 * with the curve's hash (RFC 5656 6.2.1), with a random nonce. A bad private scalar throws. */
void xs_native_psa_ecdsa_sign(xsMachine *the)
{
	psa_key_id_t id = 0;
	xsUnsignedValue privateLength, messageLength;
	size_t bytes, written;
	const uint8_t *privateKey, *message;
	uint8_t *signature;
	psa_algorithm_t alg;
	psa_status_t status;
	int bits;
	psa_ready(the);
	bits = (int)native_arg_integer(the, 0, 521, "ecdsa: curve");
	bytes = curve_bytes(the, bits);
	alg = PSA_ALG_ECDSA(curve_hash(bits));
	signature = native_arg_out(the, 3, 2 * bytes, "ecdsa: signature");
	privateKey = native_arg_buffer(the, 1, &privateLength, 0);
	message = native_arg_buffer(the, 2, &messageLength, 0);
	if (privateLength != bytes)
		xsRangeError("ecdsa: private key must be %u bytes", (unsigned)bytes);
	status = import_ec(bits, 1, privateKey, privateLength, PSA_KEY_USAGE_SIGN_MESSAGE, alg, &id);
	if (status == PSA_ERROR_INVALID_ARGUMENT)
		xsRangeError("ecdsa: invalid private key");
	check(the, status, "ecdsa");
	status = psa_sign_message(id, alg, message, messageLength, signature, 2 * bytes, &written);
	psa_destroy_key(id);
	check(the, status, "ecdsa: sign");
	if (written != 2 * bytes)
		xsUnknownError("ecdsa: %u-byte signature", (unsigned)written);
}

/* ecdsaVerify(curveBits, public, message, signature) -> boolean. Never throws for bad input: a
 * malformed or off-curve key, a signature of the wrong length, r or s out of range give false. */
void xs_native_psa_ecdsa_verify(xsMachine *the)
{
	psa_key_id_t id = 0;
	xsUnsignedValue keyLength, messageLength, signatureLength;
	size_t bytes;
	const uint8_t *publicKey, *message, *signature;
	psa_algorithm_t alg;
	psa_status_t status;
	int bits;
	psa_ready(the);
	bits = (int)native_arg_integer(the, 0, 521, "ecdsa: curve");
	bytes = curve_bytes(the, bits);
	alg = PSA_ALG_ECDSA(curve_hash(bits));
	publicKey = native_arg_buffer(the, 1, &keyLength, 0);
	message = native_arg_buffer(the, 2, &messageLength, 0);
	signature = native_arg_buffer(the, 3, &signatureLength, 0);
	xsmcSetBoolean(xsResult, 0);
	if (!uncompressed(publicKey, keyLength, bytes) || signatureLength != 2 * bytes)
		return;
	status = import_ec(bits, 0, publicKey, keyLength, PSA_KEY_USAGE_VERIFY_MESSAGE, alg, &id);
	if (status != PSA_SUCCESS)
		return;
	status = psa_verify_message(id, alg, message, messageLength, signature, signatureLength);
	psa_destroy_key(id);
	xsmcSetBoolean(xsResult, status == PSA_SUCCESS);
}

/* ---------------------------------------------------------------------------------------------- */
/* RSASSA-PKCS1-v1_5 (RFC 8017 8.2) with SHA-256 or SHA-512. Keys cross as DER (RFC 8017 A.1:
 * RSAPrivateKey, RSAPublicKey), PSA's import and export format; native.ts encodes and decodes. */

static psa_status_t import_rsa(int pair, const uint8_t *der, size_t length, psa_key_usage_t usage, psa_algorithm_t alg, psa_key_id_t *id)
{
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	psa_status_t status;
	psa_set_key_type(&attributes, pair ? PSA_KEY_TYPE_RSA_KEY_PAIR : PSA_KEY_TYPE_RSA_PUBLIC_KEY);
	psa_set_key_usage_flags(&attributes, usage);
	psa_set_key_algorithm(&attributes, alg);
	status = psa_import_key(&attributes, der, length, id);
	psa_reset_key_attributes(&attributes);
	return status;
}

/* The modulus length in bytes of an imported key. */
static size_t key_bytes(psa_key_id_t id)
{
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	size_t bits = 0;
	if (psa_get_key_attributes(id, &attributes) == PSA_SUCCESS)
		bits = psa_get_key_bits(&attributes);
	psa_reset_key_attributes(&attributes);
	return PSA_BITS_TO_BYTES(bits);
}

/* The RSASSA-PKCS1-v1_5 algorithm of argument 0, the hash's size in bits (256 or 512). */
static psa_algorithm_t rsa_algorithm(xsMachine *the)
{
	int bits = (int)native_arg_integer(the, 0, 512, "rsa: hash");
	if (bits != 256 && bits != 512)
		xsRangeError("rsa: hash must be SHA-256 or SHA-512");
	return PSA_ALG_RSA_PKCS1V15_SIGN(hash_of(the, bits, "rsa"));
}

/* rsaSign(hashBits, privateDer, message, signatureOut) -> the signature's length (the modulus'). */
void xs_native_psa_rsa_sign(xsMachine *the)
{
	psa_key_id_t id = 0;
	xsUnsignedValue derLength, messageLength, outLength;
	size_t written = 0;
	const uint8_t *der, *message;
	uint8_t *out;
	psa_algorithm_t alg;
	psa_status_t status;
	psa_ready(the);
	alg = rsa_algorithm(the);
	out = native_arg_buffer(the, 3, &outLength, 1);
	der = native_arg_buffer(the, 1, &derLength, 0);
	message = native_arg_buffer(the, 2, &messageLength, 0);
	status = import_rsa(1, der, derLength, PSA_KEY_USAGE_SIGN_MESSAGE, alg, &id);
	if (status == PSA_ERROR_INVALID_ARGUMENT || status == PSA_ERROR_NOT_SUPPORTED)
		xsRangeError("rsa: invalid private key");
	check(the, status, "rsa");
	if (key_bytes(id) > outLength) {
		psa_destroy_key(id);
		xsRangeError("rsa: signature needs %u bytes", (unsigned)key_bytes(id));
	}
	status = psa_sign_message(id, alg, message, messageLength, out, outLength, &written);
	psa_destroy_key(id);
	check(the, status, "rsa: sign");
	xsmcSetInteger(xsResult, (xsIntegerValue)written);
}

/* rsaVerify(hashBits, publicDer, message, signature) -> boolean. Never throws for bad input: a
 * malformed key, a modulus beyond RSA_MAX_BITS, a signature not exactly as long as the modulus, a
 * bad signature give false. */
void xs_native_psa_rsa_verify(xsMachine *the)
{
	psa_key_id_t id = 0;
	xsUnsignedValue derLength, messageLength, signatureLength;
	const uint8_t *der, *message, *signature;
	psa_algorithm_t alg;
	psa_status_t status;
	psa_ready(the);
	alg = rsa_algorithm(the);
	der = native_arg_buffer(the, 1, &derLength, 0);
	message = native_arg_buffer(the, 2, &messageLength, 0);
	signature = native_arg_buffer(the, 3, &signatureLength, 0);
	xsmcSetBoolean(xsResult, 0);
	if (signatureLength > PSA_BITS_TO_BYTES(RSA_MAX_BITS))
		return;
	status = import_rsa(0, der, derLength, PSA_KEY_USAGE_VERIFY_MESSAGE, alg, &id);
	if (status != PSA_SUCCESS)
		return;
	if (key_bytes(id) == signatureLength)
		status = psa_verify_message(id, alg, message, messageLength, signature, signatureLength);
	else
		status = PSA_ERROR_INVALID_SIGNATURE;
	psa_destroy_key(id);
	xsmcSetBoolean(xsResult, status == PSA_SUCCESS);
}

/* rsaGenerate(bits, privateDerOut) -> the length of the new key's RSAPrivateKey DER (e = 65537). */
void xs_native_psa_rsa_generate(xsMachine *the)
{
	psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_id_t id = 0;
	xsUnsignedValue outLength;
	size_t bits, written = 0;
	uint8_t *out;
	psa_status_t status;
	psa_ready(the);
	bits = (size_t)native_arg_integer(the, 0, RSA_MAX_BITS, "rsa: bits");
	if (bits < RSA_MIN_GENERATE_BITS || bits % 2)
		xsRangeError("rsa: cannot make a %u-bit key", (unsigned)bits);
	out = native_arg_buffer(the, 1, &outLength, 1);
	if (outLength < PSA_KEY_EXPORT_RSA_KEY_PAIR_MAX_SIZE(bits))
		xsRangeError("rsa: key needs %u bytes", (unsigned)PSA_KEY_EXPORT_RSA_KEY_PAIR_MAX_SIZE(bits));
	psa_set_key_type(&attributes, PSA_KEY_TYPE_RSA_KEY_PAIR);
	psa_set_key_bits(&attributes, bits);
	psa_set_key_usage_flags(&attributes, PSA_KEY_USAGE_EXPORT);
	status = psa_generate_key(&attributes, &id);
	psa_reset_key_attributes(&attributes);
	if (status == PSA_SUCCESS)
		status = psa_export_key(id, out, outLength, &written);
	if (id)
		psa_destroy_key(id);
	check(the, status, "rsa: generate");
	xsmcSetInteger(xsResult, (xsIntegerValue)written);
}

const native_crypto_hook native_psa_hooks[] = {
	{ "features", xs_native_psa_features, 0 },
	{ "heap", xs_native_psa_heap, 1 },
	{ "sha384", xs_native_psa_sha384, 2 },
	{ "hmacKey", xs_native_psa_hmac_key, 2 },
	{ "hmacMac", xs_native_psa_hmac_mac, 7 },
	{ "hmacDispose", xs_native_psa_hmac_dispose, 1 },
	{ "gcmKey", xs_native_psa_gcm_key, 1 },
	{ "gcmSeal", xs_native_psa_gcm_seal, 6 },
	{ "gcmOpen", xs_native_psa_gcm_open, 6 },
	{ "gcmDispose", xs_native_psa_gcm_dispose, 1 },
	{ "ctrStream", xs_native_psa_ctr_stream, 2 },
	{ "ctrProcess", xs_native_psa_ctr_process, 4 },
	{ "ctrDispose", xs_native_psa_ctr_dispose, 1 },
	{ "ecGenerate", xs_native_psa_ec_generate, 3 },
	{ "ecPublic", xs_native_psa_ec_public, 3 },
	{ "ecdh", xs_native_psa_ecdh, 4 },
	{ "ecdsaSign", xs_native_psa_ecdsa_sign, 4 },
	{ "ecdsaVerify", xs_native_psa_ecdsa_verify, 4 },
	{ "rsaSign", xs_native_psa_rsa_sign, 4 },
	{ "rsaVerify", xs_native_psa_rsa_verify, 4 },
	{ "rsaGenerate", xs_native_psa_rsa_generate, 2 },
	{ NULL, NULL, 0 },
};
