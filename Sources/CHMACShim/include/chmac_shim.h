#ifndef CHMAC_SHIM_H
#define CHMAC_SHIM_H

#include <stddef.h>
#include <openssl/sha.h>

// HMAC-SHA256 (RFC 2104) over OpenSSL's low-level SHA-256, with the key absorbed once.
//
// Why not swift-crypto: its `SHA256` is a copy-on-write struct around a class, so every copy of a
// keyed state allocates a new context at its first update: 2 heap allocations per code (the inner
// and the outer state), 6 per delivery (swift-crypto 3.12). A `SHA256_CTX` is a plain C struct (the
// chaining value, the length and one partial block): copying it is a memcpy onto the stack, and
// hashing allocates nothing. EVP is no way out: an EVP_MD_CTX lives on the heap, and copying a
// keyed one into another (EVP_MD_CTX_copy_ex) duplicates the provider's context with one malloc
// per copy (counted with CRYPTO_set_mem_functions on OpenSSL 3.0); the SHA256_CTX copy, none.

/// The hash states after `key ⊕ ipad` and `key ⊕ opad`. Read-only once made, so one value may be
/// used from any number of threads at once: each code copies the states onto its own stack.
typedef struct wh_hmac_sha256_key {
    SHA256_CTX inner;
    SHA256_CTX outer;
} wh_hmac_sha256_key;

/// Absorbs `key` (any length; longer than a block is hashed first, as RFC 2104 says) into `out`.
void wh_hmac_sha256_prekey(wh_hmac_sha256_key *out, const void *key, size_t key_count);

/// Writes to `out` (32 bytes) the code of `first` followed by `second` (either may be empty; a null
/// pointer is allowed when its count is 0). Allocates nothing; the keyed copies on the stack are
/// wiped before it returns, as swift-crypto wipes its contexts.
void wh_hmac_sha256_code(const wh_hmac_sha256_key *key, const void *first, size_t first_count,
                         const void *second, size_t second_count, void *out);

#endif
