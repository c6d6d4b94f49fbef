#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>

// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot
// call. Each wrapper below passes exactly one argument type, so the C compiler does the
// promotion the variadic ABI expects.

typedef size_t (*wh_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

/// curl_easy_setopt with a `long` argument (flags, timeouts, sizes that fit a long).
CURLcode wh_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
/// curl_easy_setopt with a `curl_off_t` argument (the *_LARGE options).
CURLcode wh_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
/// curl_easy_setopt with a pointer argument (strings, slists, user data).
CURLcode wh_curl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value);
/// curl_easy_setopt with a write or header callback.
CURLcode wh_curl_easy_setopt_callback(CURL *handle, CURLoption option, wh_curl_data_callback value);

typedef curl_socket_t (*wh_curl_opensocket_callback)(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
/// curl_easy_setopt with CURLOPT_OPENSOCKETFUNCTION's callback type.
CURLcode wh_curl_easy_setopt_opensocket(CURL *handle, wh_curl_opensocket_callback value);
/// Copies the IP address of `address` into `out`: returns 4 (IPv4), 16 (IPv6) or 0 (another
/// family). struct sockaddr's variants are unions of casts, easier read in C.
int wh_curl_sockaddr_ip(const struct curl_sockaddr *address, unsigned char out[16]);
/// Opens the socket curl asked for (what curl does without an OPENSOCKETFUNCTION).
curl_socket_t wh_curl_open_socket(const struct curl_sockaddr *address);

/// curl_easy_getinfo for `long` results (response code, ...).
CURLcode wh_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
/// curl_easy_getinfo for `curl_off_t` results (CURLINFO_RETRY_AFTER, *_T timings).
CURLcode wh_curl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
/// curl_easy_getinfo for pointer results (CURLINFO_PRIVATE).
CURLcode wh_curl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

/// curl_multi_setopt with a `long` argument.
CURLMcode wh_curl_multi_setopt_long(CURLM *handle, CURLMoption option, long value);

#endif
