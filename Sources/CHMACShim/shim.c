// SHA256_Init, SHA256_Update and SHA256_Final are deprecated in OpenSSL 3 in favour of EVP, whose
// contexts live on the heap (see chmac_shim.h). They are still built by default (Debian's libssl3
// has them) and this file is their only user, so the deprecation is silenced here alone.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "chmac_shim.h"

#include <openssl/crypto.h>
#include <string.h>

void wh_hmac_sha256_prekey(wh_hmac_sha256_key *out, const void *key, size_t key_count) {
    unsigned char block[SHA256_CBLOCK];
    memset(block, 0, sizeof block);
    if (key_count > SHA256_CBLOCK) {
        SHA256_CTX hash;
        SHA256_Init(&hash);
        SHA256_Update(&hash, key, key_count);
        SHA256_Final(block, &hash);
    } else if (key_count > 0) {
        memcpy(block, key, key_count);
    }
    unsigned char pad[SHA256_CBLOCK];
    for (size_t index = 0; index < SHA256_CBLOCK; index++) pad[index] = block[index] ^ 0x36;
    SHA256_Init(&out->inner);
    SHA256_Update(&out->inner, pad, sizeof pad);
    for (size_t index = 0; index < SHA256_CBLOCK; index++) pad[index] = block[index] ^ 0x5C;
    SHA256_Init(&out->outer);
    SHA256_Update(&out->outer, pad, sizeof pad);
    // The key's bytes do not outlive the call on this stack.
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

void wh_hmac_sha256_code(const wh_hmac_sha256_key *key, const void *first, size_t first_count,
                         const void *second, size_t second_count, void *out) {
    SHA256_CTX hash = key->inner;
    if (first_count > 0) SHA256_Update(&hash, first, first_count);
    if (second_count > 0) SHA256_Update(&hash, second, second_count);
    unsigned char inner[SHA256_DIGEST_LENGTH];
    SHA256_Final(inner, &hash);
    hash = key->outer;
    SHA256_Update(&hash, inner, sizeof inner);
    SHA256_Final((unsigned char *)out, &hash);
    // The copies of the keyed states are as good as the key: leave none on the stack.
    OPENSSL_cleanse(&hash, sizeof hash);
    OPENSSL_cleanse(inner, sizeof inner);
}
