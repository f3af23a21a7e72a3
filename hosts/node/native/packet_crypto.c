/*
 * Packet crypto for the node host: a node-API addon over the OpenSSL 3 that node itself carries
 * (node exports its EVP_* and SHA* symbols; nothing links against a system libcrypto).
 *
 * Every operation works in place on the caller's Uint8Array and allocates nothing per call: each
 * key object owns its OpenSSL contexts, made once, and only the IV is set again per packet
 * (EVP_CipherInit_ex with no cipher and no key keeps the key schedule).
 *
 *   ChaChaPoly(key64)   chacha20-poly1305@openssh.com (OpenSSH PROTOCOL.chacha20poly1305)
 *                       decryptLength(seq, buf, off) / seal(seq, buf, off, len) / open(...) / dispose()
 *   AesGcm(key16|32)    aes*-gcm@openssh.com: seal(iv12, buf, off, len) / open(...) / dispose()
 *   AesCtr(key, iv16)   one continuing AES-CTR stream: process(buf, off, len) / dispose()
 *   Hmac(hash, key)     HMAC-SHA-256/512 of uint32 seq || buf[off, off+len): mac(seq, buf, off, len,
 *                       out, outOff) / dispose(); size
 *   poly1305(key32, msg, out16), openssl (version text)
 *
 * The interfaces are those of modules/crypto/provider.ts (ChaChaPolyKey, AesGcmKey, AesCtrStream,
 * HmacKey); hosts/node/crypto_native.ts puts them into a provider. Every index is checked against
 * the buffer here, so a wrong argument throws a RangeError instead of touching other memory.
 */

/* The HMAC below keeps its two pad states in SHA*_CTX structs and copies them per packet: the
 * low-level SHA-2 functions are deprecated in OpenSSL 3 but exported by node and allocation-free,
 * where EVP_MD_CTX_copy_ex (HMAC_Init_ex without a key, EVP_MAC_init) allocates a fresh context. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Argument helpers. Each returns 0 after throwing a JS exception, 1 on success. */

#define CHACHA_KEY_BYTES 32
#define CHACHA_BLOCK_BYTES 64
#define CHACHA_IV_BYTES 16
#define POLY1305_KEY_BYTES 32
#define TAG_BYTES 16
#define LENGTH_BYTES 4
#define GCM_IV_BYTES 12
#define AES_BLOCK_BYTES 16
#define MAX_ARGS 6
/* The largest length one call handles: OpenSSL takes int lengths; SSH packets are far smaller. */
#define MAX_LEN ((double)(INT_MAX - 1024))

static int throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return 0;
}

static int throw_error(napi_env env, const char *msg) {
  ERR_clear_error(); /* leave node's OpenSSL error queue as it was */
  napi_throw_error(env, NULL, msg);
  return 0;
}

/** A Uint8Array's bytes (pointer to its first element, already past its byteOffset). */
static int get_bytes(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *p = NULL;
  if (napi_get_typedarray_info(env, v, &type, &length, &p, NULL, NULL) != napi_ok) return throw_error(env, what);
  if (type != napi_uint8_array && type != napi_uint8_clamped_array) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  *data = (uint8_t *)p;
  *len = length;
  return 1;
}

/** A non-negative integer number no larger than `max`. */
static int get_index(napi_env env, napi_value v, double max, const char *what, size_t *out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > max || d != (double)(size_t)d) return throw_range(env, what);
  *out = (size_t)d;
  return 1;
}

static int get_seq(napi_env env, napi_value v, uint32_t *seq) {
  size_t s = 0;
  if (!get_index(env, v, 4294967295.0, "seq must be an integer in [0, 2^32)", &s)) return 0;
  *seq = (uint32_t)s;
  return 1;
}

/** this, its wrapped native struct and exactly `want` arguments. */
static int get_this(napi_env env, napi_callback_info info, size_t want, napi_value *argv, void **self) {
  size_t argc = MAX_ARGS;
  napi_value args[MAX_ARGS];
  napi_value thisv;
  if (napi_get_cb_info(env, info, &argc, args, &thisv, NULL) != napi_ok) return throw_error(env, "bad call");
  if (argc < want) return throw_range(env, "missing arguments");
  for (size_t i = 0; i < want; i++) argv[i] = args[i];
  void *p = NULL;
  if (napi_unwrap(env, thisv, &p) != napi_ok || p == NULL) return throw_error(env, "not a packet crypto object");
  *self = p;
  return 1;
}

/** A constructor's `this` and its first `want` arguments; RangeError(`usage`) when they are missing. */
static int get_ctor(napi_env env, napi_callback_info info, size_t want, napi_value *argv, napi_value *thisv, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, thisv, NULL) != napi_ok || argc < want) return throw_range(env, usage);
  return 1;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value boolean(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static void store_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Algorithms fetched once from node's default library context. */
static EVP_CIPHER *cipher_chacha20, *cipher_aes_gcm[2], *cipher_aes_ctr[3];
static EVP_MAC *mac_poly1305;

/* ------------------------------------------------------------------------------------------ */
/* chacha20-poly1305@openssh.com
 *
 * OpenSSH's ChaCha20 has a 64-bit block counter (state words 12-13) and a 64-bit nonce (words 14-15,
 * the sequence number big-endian). OpenSSL's EVP_chacha20 takes the same four words as its 16-byte
 * IV (32-bit little-endian counter, then a 96-bit nonce), and carries a counter overflow from word
 * 12 into word 13, so iv = le64(counter) || be64(seq) is OpenSSH's layout exactly. The length key
 * K_1 encrypts the 4 length bytes at counter 0; K_2's block 0 is the Poly1305 key and its stream
 * from block 1 encrypts the rest; the tag covers the encrypted length and the encrypted rest. */

typedef struct {
  EVP_CIPHER_CTX *main; /* K_2 */
  EVP_CIPHER_CTX *length; /* K_1 */
  EVP_MAC_CTX *poly;
} chachapoly;

static const uint8_t zero_block[CHACHA_BLOCK_BYTES];

static void chachapoly_free(chachapoly *c) {
  EVP_CIPHER_CTX_free(c->main);
  EVP_CIPHER_CTX_free(c->length);
  EVP_MAC_CTX_free(c->poly);
  c->main = NULL;
  c->length = NULL;
  c->poly = NULL;
}

static void chachapoly_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  chachapoly_free((chachapoly *)data);
  free(data);
}

static void chacha_iv(uint8_t iv[CHACHA_IV_BYTES], uint32_t seq) {
  memset(iv, 0, CHACHA_IV_BYTES - 4);
  store_be32(iv + CHACHA_IV_BYTES - 4, seq);
}

static napi_value chachapoly_new(napi_env env, napi_callback_info info) {
  napi_value argv[1], thisv;
  if (!get_ctor(env, info, 1, argv, &thisv, "chacha20-poly1305: key must be 64 bytes")) return NULL;
  uint8_t *key;
  size_t keylen;
  if (!get_bytes(env, argv[0], "chacha20-poly1305: key must be a Uint8Array", &key, &keylen)) return NULL;
  if (keylen != 2 * CHACHA_KEY_BYTES) {
    throw_range(env, "chacha20-poly1305: key must be 64 bytes");
    return NULL;
  }
  chachapoly *c = calloc(1, sizeof *c);
  if (c == NULL) {
    throw_error(env, "out of memory");
    return NULL;
  }
  uint8_t iv[CHACHA_IV_BYTES] = {0};
  c->main = EVP_CIPHER_CTX_new();
  c->length = EVP_CIPHER_CTX_new();
  c->poly = EVP_MAC_CTX_new(mac_poly1305);
  if (c->main == NULL || c->length == NULL || c->poly == NULL
      || !EVP_CipherInit_ex(c->main, cipher_chacha20, NULL, key, iv, 1)
      || !EVP_CipherInit_ex(c->length, cipher_chacha20, NULL, key + CHACHA_KEY_BYTES, iv, 1)
      || napi_wrap(env, thisv, c, chachapoly_finalize, NULL, NULL) != napi_ok) {
    chachapoly_free(c);
    free(c);
    throw_error(env, "chacha20-poly1305: OpenSSL could not set up the key");
    return NULL;
  }
  return thisv;
}

/** Checks that buf holds [off, off + 4 + len + 16). */
static int packet_bounds(napi_env env, size_t buflen, size_t off, size_t len) {
  if (off > buflen || LENGTH_BYTES + len + TAG_BYTES > buflen - off) return throw_range(env, "packet does not fit in buf");
  return 1;
}

/** K_2's block 0 (the Poly1305 key in its first 32 bytes), leaving the stream at block 1. */
static int chacha_poly_key(chachapoly *c, uint32_t seq, uint8_t block0[CHACHA_BLOCK_BYTES]) {
  uint8_t iv[CHACHA_IV_BYTES];
  int n = 0;
  chacha_iv(iv, seq);
  return EVP_CipherInit_ex(c->main, NULL, NULL, NULL, iv, 1)
      && EVP_CipherUpdate(c->main, block0, &n, zero_block, CHACHA_BLOCK_BYTES) && n == CHACHA_BLOCK_BYTES;
}

static int poly1305_tag(EVP_MAC_CTX *m, const uint8_t *key, const uint8_t *msg, size_t len, uint8_t tag[TAG_BYTES]) {
  size_t n = 0;
  return EVP_MAC_init(m, key, POLY1305_KEY_BYTES, NULL) && EVP_MAC_update(m, msg, len)
      && EVP_MAC_final(m, tag, &n, TAG_BYTES) && n == TAG_BYTES;
}

/* Arguments shared by the three packet calls: seq, buf, off (and len). */
static chachapoly *chachapoly_args(napi_env env, napi_callback_info info, size_t want, uint32_t *seq, uint8_t **buf,
                                   size_t *off, size_t *len) {
  napi_value argv[4];
  void *self;
  if (!get_this(env, info, want, argv, &self)) return NULL;
  chachapoly *c = self;
  if (c->main == NULL) {
    throw_error(env, "chacha20-poly1305: key disposed");
    return NULL;
  }
  size_t buflen;
  *len = 0;
  if (!get_seq(env, argv[0], seq) || !get_index(env, argv[2], MAX_LEN, "off out of range", off)) return NULL;
  if (want > 3 && !get_index(env, argv[3], MAX_LEN, "len out of range", len)) return NULL;
  if (!get_bytes(env, argv[1], "buf must be a Uint8Array", buf, &buflen)) return NULL;
  if (want > 3) {
    if (!packet_bounds(env, buflen, *off, *len)) return NULL;
  } else if (*off > buflen || buflen - *off < LENGTH_BYTES) {
    throw_range(env, "packet does not fit in buf");
    return NULL;
  }
  return c;
}

static napi_value chachapoly_decrypt_length(napi_env env, napi_callback_info info) {
  uint32_t seq;
  uint8_t *buf;
  size_t off, len;
  chachapoly *c = chachapoly_args(env, info, 3, &seq, &buf, &off, &len);
  if (c == NULL) return NULL;
  uint8_t iv[CHACHA_IV_BYTES], out[LENGTH_BYTES];
  int n = 0;
  chacha_iv(iv, seq);
  if (!EVP_CipherInit_ex(c->length, NULL, NULL, NULL, iv, 1) || !EVP_CipherUpdate(c->length, out, &n, buf + off, LENGTH_BYTES)) {
    throw_error(env, "chacha20-poly1305: OpenSSL failed");
    return NULL;
  }
  napi_value v;
  napi_create_uint32(env, ((uint32_t)out[0] << 24) | ((uint32_t)out[1] << 16) | ((uint32_t)out[2] << 8) | out[3], &v);
  return v;
}

static napi_value chachapoly_seal(napi_env env, napi_callback_info info) {
  uint32_t seq;
  uint8_t *buf;
  size_t off, len;
  chachapoly *c = chachapoly_args(env, info, 4, &seq, &buf, &off, &len);
  if (c == NULL) return NULL;
  uint8_t iv[CHACHA_IV_BYTES], block0[CHACHA_BLOCK_BYTES];
  uint8_t *p = buf + off;
  int n = 0;
  chacha_iv(iv, seq);
  int ok = EVP_CipherInit_ex(c->length, NULL, NULL, NULL, iv, 1) && EVP_CipherUpdate(c->length, p, &n, p, LENGTH_BYTES)
      && chacha_poly_key(c, seq, block0)
      && EVP_CipherUpdate(c->main, p + LENGTH_BYTES, &n, p + LENGTH_BYTES, (int)len)
      && poly1305_tag(c->poly, block0, p, LENGTH_BYTES + len, p + LENGTH_BYTES + len);
  OPENSSL_cleanse(block0, sizeof block0);
  if (!ok) {
    throw_error(env, "chacha20-poly1305: OpenSSL failed");
    return NULL;
  }
  return undefined(env);
}

static napi_value chachapoly_open(napi_env env, napi_callback_info info) {
  uint32_t seq;
  uint8_t *buf;
  size_t off, len;
  chachapoly *c = chachapoly_args(env, info, 4, &seq, &buf, &off, &len);
  if (c == NULL) return NULL;
  uint8_t block0[CHACHA_BLOCK_BYTES], tag[TAG_BYTES];
  uint8_t *p = buf + off;
  int n = 0;
  int ok = chacha_poly_key(c, seq, block0) && poly1305_tag(c->poly, block0, p, LENGTH_BYTES + len, tag);
  OPENSSL_cleanse(block0, sizeof block0);
  if (!ok) {
    throw_error(env, "chacha20-poly1305: OpenSSL failed");
    return NULL;
  }
  if (CRYPTO_memcmp(tag, p + LENGTH_BYTES + len, TAG_BYTES) != 0) return boolean(env, false);
  /* The stream stands at block 1: decrypt the rest in place. */
  if (!EVP_CipherUpdate(c->main, p + LENGTH_BYTES, &n, p + LENGTH_BYTES, (int)len)) {
    throw_error(env, "chacha20-poly1305: OpenSSL failed");
    return NULL;
  }
  return boolean(env, true);
}

static napi_value chachapoly_dispose(napi_env env, napi_callback_info info) {
  void *self;
  if (!get_this(env, info, 0, NULL, &self)) return NULL;
  chachapoly_free((chachapoly *)self);
  return undefined(env);
}

/* ------------------------------------------------------------------------------------------ */
/* AES-GCM for aes*-gcm@openssh.com: AAD = the 4 length bytes, then the body, then the tag. */

/* Both AES objects (AesGcm, AesCtr) are one OpenSSL cipher context set up with the key once. */
typedef struct {
  EVP_CIPHER_CTX *ctx;
} aeskey;

static void aeskey_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_CIPHER_CTX_free(((aeskey *)data)->ctx);
  free(data);
}

/** Makes the context for `cipher` with `key` (and `iv`, or NULL) and wraps it in `thisv`. */
static napi_value aeskey_wrap(napi_env env, napi_value thisv, const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv,
                              const char *failure) {
  aeskey *k = calloc(1, sizeof *k);
  if (k == NULL) {
    throw_error(env, "out of memory");
    return NULL;
  }
  k->ctx = EVP_CIPHER_CTX_new();
  if (k->ctx == NULL || !EVP_CipherInit_ex(k->ctx, cipher, NULL, key, iv, 1) || napi_wrap(env, thisv, k, aeskey_finalize, NULL, NULL) != napi_ok) {
    EVP_CIPHER_CTX_free(k->ctx);
    free(k);
    throw_error(env, failure);
    return NULL;
  }
  return thisv;
}

/** `this` of a method with `n` arguments, or NULL (an exception pending) when disposed. */
static aeskey *aeskey_this(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *disposed) {
  void *self;
  if (!get_this(env, info, n, argv, &self)) return NULL;
  aeskey *k = self;
  if (k->ctx == NULL) {
    throw_error(env, disposed);
    return NULL;
  }
  return k;
}

static napi_value aeskey_dispose(napi_env env, napi_callback_info info) {
  void *self;
  if (!get_this(env, info, 0, NULL, &self)) return NULL;
  aeskey *k = self;
  EVP_CIPHER_CTX_free(k->ctx);
  k->ctx = NULL;
  return undefined(env);
}

static napi_value aesgcm_new(napi_env env, napi_callback_info info) {
  napi_value argv[1], thisv;
  if (!get_ctor(env, info, 1, argv, &thisv, "aes-gcm: key must be 16 or 32 bytes")) return NULL;
  uint8_t *key;
  size_t keylen;
  if (!get_bytes(env, argv[0], "aes-gcm: key must be a Uint8Array", &key, &keylen)) return NULL;
  if (keylen != 16 && keylen != 32) {
    throw_range(env, "aes-gcm: key must be 16 or 32 bytes");
    return NULL;
  }
  return aeskey_wrap(env, thisv, cipher_aes_gcm[keylen == 32], key, NULL, "aes-gcm: OpenSSL could not set up the key");
}

/** One GCM pass over the packet: AAD, body in place; `enc` selects encryption or decryption. */
static int gcm_pass(EVP_CIPHER_CTX *ctx, const uint8_t *iv, uint8_t *p, size_t len, int enc) {
  int n = 0;
  return EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc) && EVP_CipherUpdate(ctx, NULL, &n, p, LENGTH_BYTES)
      && EVP_CipherUpdate(ctx, p + LENGTH_BYTES, &n, p + LENGTH_BYTES, (int)len);
}

static aeskey *aesgcm_args(napi_env env, napi_callback_info info, uint8_t **iv, uint8_t **buf, size_t *off, size_t *len) {
  napi_value argv[4];
  aeskey *g = aeskey_this(env, info, 4, argv, "aes-gcm: key disposed");
  if (g == NULL) return NULL;
  size_t ivlen, buflen;
  if (!get_index(env, argv[2], MAX_LEN, "off out of range", off) || !get_index(env, argv[3], MAX_LEN, "len out of range", len)) return NULL;
  if (!get_bytes(env, argv[0], "aes-gcm: iv must be a Uint8Array", iv, &ivlen) || !get_bytes(env, argv[1], "buf must be a Uint8Array", buf, &buflen)) return NULL;
  if (ivlen != GCM_IV_BYTES) {
    throw_range(env, "aes-gcm: iv must be 12 bytes");
    return NULL;
  }
  if (!packet_bounds(env, buflen, *off, *len)) return NULL;
  return g;
}

static napi_value aesgcm_seal(napi_env env, napi_callback_info info) {
  uint8_t *iv, *buf;
  size_t off, len;
  aeskey *g = aesgcm_args(env, info, &iv, &buf, &off, &len);
  if (g == NULL) return NULL;
  uint8_t *p = buf + off, last[AES_BLOCK_BYTES];
  int n = 0;
  if (!gcm_pass(g->ctx, iv, p, len, 1) || !EVP_CipherFinal_ex(g->ctx, last, &n)
      || !EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, p + LENGTH_BYTES + len)) {
    throw_error(env, "aes-gcm: OpenSSL failed");
    return NULL;
  }
  return undefined(env);
}

static napi_value aesgcm_open(napi_env env, napi_callback_info info) {
  uint8_t *iv, *buf;
  size_t off, len;
  aeskey *g = aesgcm_args(env, info, &iv, &buf, &off, &len);
  if (g == NULL) return NULL;
  uint8_t *p = buf + off, last[AES_BLOCK_BYTES];
  int n = 0;
  /* Decrypts in place first (the tag is known only at the end); on a bad tag the same key stream
   * is applied again (an encryption pass), which gives back exactly the ciphertext that came in. */
  if (!gcm_pass(g->ctx, iv, p, len, 0) || !EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, p + LENGTH_BYTES + len)) {
    throw_error(env, "aes-gcm: OpenSSL failed");
    return NULL;
  }
  if (EVP_CipherFinal_ex(g->ctx, last, &n) > 0) return boolean(env, true);
  ERR_clear_error(); /* leave node's OpenSSL error queue as it was */
  if (!gcm_pass(g->ctx, iv, p, len, 1)) {
    throw_error(env, "aes-gcm: OpenSSL failed");
    return NULL;
  }
  return boolean(env, false);
}

/* ------------------------------------------------------------------------------------------ */
/* AES-CTR: one context for the life of the key; OpenSSL keeps the counter and a partial block. */

static napi_value aesctr_new(napi_env env, napi_callback_info info) {
  napi_value argv[2], thisv;
  if (!get_ctor(env, info, 2, argv, &thisv, "aes-ctr: key and iv needed")) return NULL;
  uint8_t *key, *iv;
  size_t keylen, ivlen;
  if (!get_bytes(env, argv[0], "aes-ctr: key must be a Uint8Array", &key, &keylen)
      || !get_bytes(env, argv[1], "aes-ctr: iv must be a Uint8Array", &iv, &ivlen)) return NULL;
  if (keylen != 16 && keylen != 24 && keylen != 32) {
    throw_range(env, "aes-ctr: key must be 16, 24 or 32 bytes");
    return NULL;
  }
  if (ivlen != AES_BLOCK_BYTES) {
    throw_range(env, "aes-ctr: iv must be 16 bytes");
    return NULL;
  }
  return aeskey_wrap(env, thisv, cipher_aes_ctr[keylen / 8 - 2], key, iv, "aes-ctr: OpenSSL could not set up the key");
}

static napi_value aesctr_process(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  aeskey *s = aeskey_this(env, info, 3, argv, "aes-ctr: stream disposed");
  if (s == NULL) return NULL;
  uint8_t *buf;
  size_t buflen, off, len;
  int n = 0;
  if (!get_index(env, argv[1], MAX_LEN, "off out of range", &off) || !get_index(env, argv[2], MAX_LEN, "len out of range", &len)
      || !get_bytes(env, argv[0], "buf must be a Uint8Array", &buf, &buflen)) return NULL;
  if (off > buflen || len > buflen - off) {
    throw_range(env, "range does not fit in buf");
    return NULL;
  }
  if (len > 0 && !EVP_CipherUpdate(s->ctx, buf + off, &n, buf + off, (int)len)) {
    throw_error(env, "aes-ctr: OpenSSL failed");
    return NULL;
  }
  return undefined(env);
}

/* ------------------------------------------------------------------------------------------ */
/* HMAC (RFC 2104) over SHA-256 or SHA-512 with the inner and outer pad states hashed once per key:
 * each packet copies the two states (plain structs) and hashes seq || data. */

#define HMAC_MAX_BLOCK 128
#define HMAC_MAX_SIZE 64

typedef struct {
  int live;
  int size; /* 32 or 64 */
  union {
    struct { SHA256_CTX inner, outer; } s256;
    struct { SHA512_CTX inner, outer; } s512;
  } u;
} hmackey;

static void hmac_wipe(hmackey *h) {
  OPENSSL_cleanse(&h->u, sizeof h->u);
  h->live = 0;
}

static void hmac_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  hmac_wipe((hmackey *)data);
  free(data);
}

static napi_value hmac_new(napi_env env, napi_callback_info info) {
  napi_value argv[2], thisv;
  if (!get_ctor(env, info, 2, argv, &thisv, "hmac: hash and key needed")) return NULL;
  char name[8] = {0};
  size_t namelen = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &namelen) != napi_ok
      || (strcmp(name, "sha256") != 0 && strcmp(name, "sha512") != 0)) {
    throw_range(env, "hmac: unknown hash");
    return NULL;
  }
  uint8_t *key;
  size_t keylen;
  if (!get_bytes(env, argv[1], "hmac: key must be a Uint8Array", &key, &keylen)) return NULL;
  hmackey *h = calloc(1, sizeof *h);
  if (h == NULL) {
    throw_error(env, "out of memory");
    return NULL;
  }
  int is256 = strcmp(name, "sha256") == 0;
  size_t block = is256 ? 64 : 128;
  uint8_t k[HMAC_MAX_BLOCK] = {0}, pad[HMAC_MAX_BLOCK];
  h->size = is256 ? 32 : 64;
  /* A key longer than the hash's block is hashed first (RFC 2104 2). */
  if (keylen > block) {
    if (is256) SHA256(key, keylen, k); else SHA512(key, keylen, k);
  } else if (keylen > 0) {
    memcpy(k, key, keylen);
  }
  for (size_t i = 0; i < block; i++) pad[i] = k[i] ^ 0x36;
  if (is256) { SHA256_Init(&h->u.s256.inner); SHA256_Update(&h->u.s256.inner, pad, block); }
  else { SHA512_Init(&h->u.s512.inner); SHA512_Update(&h->u.s512.inner, pad, block); }
  for (size_t i = 0; i < block; i++) pad[i] = k[i] ^ 0x5c;
  if (is256) { SHA256_Init(&h->u.s256.outer); SHA256_Update(&h->u.s256.outer, pad, block); }
  else { SHA512_Init(&h->u.s512.outer); SHA512_Update(&h->u.s512.outer, pad, block); }
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  h->live = 1;
  if (napi_wrap(env, thisv, h, hmac_finalize, NULL, NULL) != napi_ok) {
    hmac_wipe(h);
    free(h);
    throw_error(env, "hmac: could not wrap");
    return NULL;
  }
  napi_value size;
  napi_create_uint32(env, (uint32_t)h->size, &size);
  napi_property_descriptor d = {"size", NULL, NULL, NULL, NULL, size, napi_enumerable, NULL};
  napi_define_properties(env, thisv, 1, &d);
  return thisv;
}

static napi_value hmac_mac(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  void *self;
  if (!get_this(env, info, 6, argv, &self)) return NULL;
  hmackey *h = self;
  if (!h->live) {
    throw_error(env, "hmac: key disposed");
    return NULL;
  }
  uint32_t seq;
  uint8_t *buf, *out;
  size_t buflen, outlen, off, len, outoff;
  if (!get_seq(env, argv[0], &seq) || !get_index(env, argv[2], MAX_LEN, "off out of range", &off)
      || !get_index(env, argv[3], MAX_LEN, "len out of range", &len) || !get_index(env, argv[5], MAX_LEN, "outOff out of range", &outoff)
      || !get_bytes(env, argv[1], "buf must be a Uint8Array", &buf, &buflen)
      || !get_bytes(env, argv[4], "out must be a Uint8Array", &out, &outlen)) return NULL;
  if (off > buflen || len > buflen - off) {
    throw_range(env, "range does not fit in buf");
    return NULL;
  }
  if (outoff > outlen || (size_t)h->size > outlen - outoff) {
    throw_range(env, "mac does not fit in out");
    return NULL;
  }
  uint8_t s[4], inner[HMAC_MAX_SIZE], mac[HMAC_MAX_SIZE];
  store_be32(s, seq);
  if (h->size == 32) {
    SHA256_CTX c = h->u.s256.inner;
    SHA256_Update(&c, s, 4);
    SHA256_Update(&c, buf + off, len);
    SHA256_Final(inner, &c);
    c = h->u.s256.outer;
    SHA256_Update(&c, inner, 32);
    SHA256_Final(mac, &c);
    OPENSSL_cleanse(&c, sizeof c);
  } else {
    SHA512_CTX c = h->u.s512.inner;
    SHA512_Update(&c, s, 4);
    SHA512_Update(&c, buf + off, len);
    SHA512_Final(inner, &c);
    c = h->u.s512.outer;
    SHA512_Update(&c, inner, 64);
    SHA512_Final(mac, &c);
    OPENSSL_cleanse(&c, sizeof c);
  }
  memcpy(out + outoff, mac, (size_t)h->size);
  return undefined(env);
}

static napi_value hmac_dispose(napi_env env, napi_callback_info info) {
  void *self;
  if (!get_this(env, info, 0, NULL, &self)) return NULL;
  hmac_wipe((hmackey *)self);
  return undefined(env);
}

/* ------------------------------------------------------------------------------------------ */
/* poly1305(key32, message, out16): the standalone primitive, over one MAC context per node
 * environment (the addon's instance data: each worker thread that loads the addon has its own). */

static void poly_ctx_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_MAC_CTX_free((EVP_MAC_CTX *)data);
}

static napi_value poly1305_fn(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *shared_poly = NULL;
  if (napi_get_instance_data(env, &shared_poly) != napi_ok || shared_poly == NULL) {
    throw_error(env, "poly1305: no MAC context");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    throw_range(env, "poly1305: key, message and out needed");
    return NULL;
  }
  uint8_t *key, *msg, *out;
  size_t keylen, msglen, outlen;
  if (!get_bytes(env, argv[0], "poly1305: key must be a Uint8Array", &key, &keylen)
      || !get_bytes(env, argv[1], "poly1305: message must be a Uint8Array", &msg, &msglen)
      || !get_bytes(env, argv[2], "poly1305: out must be a Uint8Array", &out, &outlen)) return NULL;
  if (keylen != POLY1305_KEY_BYTES) {
    throw_range(env, "poly1305: key must be 32 bytes");
    return NULL;
  }
  if (outlen < TAG_BYTES) {
    throw_range(env, "poly1305: out must hold 16 bytes");
    return NULL;
  }
  uint8_t tag[TAG_BYTES];
  if (!poly1305_tag(shared_poly, key, msg, msglen, tag)) {
    throw_error(env, "poly1305: OpenSSL failed");
    return NULL;
  }
  memcpy(out, tag, TAG_BYTES);
  return undefined(env);
}

/* ------------------------------------------------------------------------------------------ */

static int define_class(napi_env env, napi_value exports, const char *name, napi_callback ctor,
                        const napi_property_descriptor *methods, size_t count) {
  napi_value cls;
  if (napi_define_class(env, name, NAPI_AUTO_LENGTH, ctor, NULL, count, methods, &cls) != napi_ok) return 0;
  return napi_set_named_property(env, exports, name, cls) == napi_ok;
}

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

static pthread_once_t fetched = PTHREAD_ONCE_INIT;

/* Once per process (worker threads share it): the fetched algorithms are read-only afterwards. */
static void fetch_algorithms(void) {
  cipher_chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
  cipher_aes_gcm[0] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
  cipher_aes_gcm[1] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  cipher_aes_ctr[0] = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
  cipher_aes_ctr[1] = EVP_CIPHER_fetch(NULL, "AES-192-CTR", NULL);
  cipher_aes_ctr[2] = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
  mac_poly1305 = EVP_MAC_fetch(NULL, "POLY1305", NULL);
}

static napi_value init(napi_env env, napi_value exports) {
  pthread_once(&fetched, fetch_algorithms);
  if (!cipher_chacha20 || !cipher_aes_gcm[0] || !cipher_aes_gcm[1] || !cipher_aes_ctr[0] || !cipher_aes_ctr[1]
      || !cipher_aes_ctr[2] || !mac_poly1305) {
    throw_error(env, "packet_crypto: node's OpenSSL lacks ChaCha20, AES-GCM, AES-CTR or POLY1305");
    return NULL;
  }
  EVP_MAC_CTX *shared_poly = EVP_MAC_CTX_new(mac_poly1305);
  if (shared_poly == NULL || napi_set_instance_data(env, shared_poly, poly_ctx_finalize, NULL) != napi_ok) {
    EVP_MAC_CTX_free(shared_poly);
    throw_error(env, "packet_crypto: no MAC context");
    return NULL;
  }
  const napi_property_descriptor chacha[] = {
    METHOD("decryptLength", chachapoly_decrypt_length), METHOD("seal", chachapoly_seal),
    METHOD("open", chachapoly_open), METHOD("dispose", chachapoly_dispose),
  };
  const napi_property_descriptor gcm[] = {
    METHOD("seal", aesgcm_seal), METHOD("open", aesgcm_open), METHOD("dispose", aeskey_dispose),
  };
  const napi_property_descriptor ctr[] = {METHOD("process", aesctr_process), METHOD("dispose", aeskey_dispose)};
  const napi_property_descriptor hmac[] = {METHOD("mac", hmac_mac), METHOD("dispose", hmac_dispose)};
  napi_value fn, version;
  if (!define_class(env, exports, "ChaChaPoly", chachapoly_new, chacha, 4) || !define_class(env, exports, "AesGcm", aesgcm_new, gcm, 3)
      || !define_class(env, exports, "AesCtr", aesctr_new, ctr, 2) || !define_class(env, exports, "Hmac", hmac_new, hmac, 2)
      || napi_create_function(env, "poly1305", NAPI_AUTO_LENGTH, poly1305_fn, NULL, &fn) != napi_ok
      || napi_set_named_property(env, exports, "poly1305", fn) != napi_ok
      || napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &version) != napi_ok
      || napi_set_named_property(env, exports, "openssl", version) != napi_ok) {
    throw_error(env, "packet_crypto: could not define the exports");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
