/* Batched ECDSA recovery and verification over the system libsecp256k1 (Debian/Ubuntu libsecp256k1-dev >= 0.2):
 * one N-API call per batch of records in flat buffers, so JavaScript pays the call once per batch, not per signature. */
#include <node_api.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <string.h>

/* Record layouts (bytes). Recover: digest 32 | r 32 | s 32 | recid 1 -> uncompressed public key 65 (first byte 0: failed).
 * Verify: digest 32 | r 32 | s 32 | uncompressed public key 65 -> 1 (valid) or 0. */
#define RECOVER_IN 97
#define RECOVER_OUT 65
#define VERIFY_IN 161

static secp256k1_context *ctx;

static int buffer_arg(napi_env env, napi_value value, unsigned char **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t count;
  void *base;
  napi_value arraybuffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &count, &base, &arraybuffer, &offset) != napi_ok || type != napi_uint8_array) return 0;
  *data = base;
  *length = count;
  return 1;
}

/* (input, count, output): validates the arguments shared by both calls; throws and returns 0 when they are wrong. */
static int batch_args(napi_env env, napi_callback_info info, size_t in_width, size_t out_width,
                      unsigned char **in, unsigned char **out, uint32_t *count) {
  size_t argc = 3;
  napi_value argv[3];
  size_t in_len, out_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      !buffer_arg(env, argv[0], in, &in_len) || napi_get_value_uint32(env, argv[1], count) != napi_ok ||
      !buffer_arg(env, argv[2], out, &out_len)) {
    napi_throw_type_error(env, NULL, "expected (input: Uint8Array, count: number, output: Uint8Array)");
    return 0;
  }
  if (in_len < (size_t)*count * in_width || out_len < (size_t)*count * out_width) {
    napi_throw_range_error(env, NULL, "input or output is shorter than count records");
    return 0;
  }
  return 1;
}

static napi_value recover_batch(napi_env env, napi_callback_info info) {
  unsigned char *in, *out;
  uint32_t count;
  if (!batch_args(env, info, RECOVER_IN, RECOVER_OUT, &in, &out, &count)) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    const unsigned char *rec = in + (size_t)i * RECOVER_IN;
    unsigned char *pub = out + (size_t)i * RECOVER_OUT;
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey key;
    size_t len = RECOVER_OUT;
    if (rec[96] > 3 || !secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, rec + 32, rec[96]) ||
        !secp256k1_ecdsa_recover(ctx, &key, &sig, rec) ||
        !secp256k1_ec_pubkey_serialize(ctx, pub, &len, &key, SECP256K1_EC_UNCOMPRESSED)) {
      memset(pub, 0, RECOVER_OUT);
    }
  }
  return NULL;
}

static napi_value verify_batch(napi_env env, napi_callback_info info) {
  unsigned char *in, *out;
  uint32_t count;
  if (!batch_args(env, info, VERIFY_IN, 1, &in, &out, &count)) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    const unsigned char *rec = in + (size_t)i * VERIFY_IN;
    secp256k1_ecdsa_signature sig;
    secp256k1_pubkey key;
    /* libsecp256k1 verifies only lower-s signatures: a high s (the malleable twin) fails here, as EIP-2 wants. */
    out[i] = secp256k1_ecdsa_signature_parse_compact(ctx, &sig, rec + 32) &&
             secp256k1_ec_pubkey_parse(ctx, &key, rec + 96, 65) &&
             secp256k1_ecdsa_verify(ctx, &sig, rec, &key);
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  if (!ctx) ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
  napi_value fn;
  napi_create_function(env, "recoverBatch", NAPI_AUTO_LENGTH, recover_batch, NULL, &fn);
  napi_set_named_property(env, exports, "recoverBatch", fn);
  napi_create_function(env, "verifyBatch", NAPI_AUTO_LENGTH, verify_batch, NULL, &fn);
  napi_set_named_property(env, exports, "verifyBatch", fn);
  return exports;
}
