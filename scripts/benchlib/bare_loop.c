/*
 * The floor for a libcurl-based sender: a bare loop over the libcurl multi interface POSTing the
 * worker's exact request (same headers, same body) to a URL, with N keep-alive connections and
 * reused easy handles and header lists. No queue, no JSON, no signing, no threads.
 *
 *   cc -O2 -o bare_loop bare_loop.c -lcurl
 *   bare_loop URL REQUESTS CONNECTIONS HEADERFILE BODYFILE [poll|epoll] [CAFILE]
 *
 * HEADERFILE holds one "Name: value" line per header. `poll` drives transfers with
 * curl_multi_poll (what the worker does); `epoll` with curl_multi_socket_action on an epoll
 * set (one-shot registrations) and curl's timer callback. CAFILE (an https URL): the PEM file of
 * CA certificates to verify the server with (CURLOPT_CAINFO, as the worker's WEBHOOK_CA_FILE).
 * Prints one JSON line: requests,
 * failures, seconds, the process's user and system CPU seconds (getrusage), connections opened.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static long remaining, done_count, failures, connects;
static CURLM *multi;
static int epfd = -1;
static long timeout_ms = -1;

static size_t discard(char *ptr, size_t size, size_t n, void *user) {
    (void)ptr; (void)user;
    return size * n;
}

static char *slurp(const char *path, long *length) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    *length = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc(*length + 1);
    if (fread(data, 1, *length, f) != (size_t)*length) { perror(path); exit(2); }
    data[*length] = 0;
    fclose(f);
    return data;
}

/* One-shot registrations: an event disarms the descriptor until the next MOD, so each wait for
   an answer costs one epoll_ctl and REMOVE costs none (a stray event on a pooled connection fires
   once, and curl ignores events on sockets it does not watch). A descriptor curl closes leaves
   the set by itself; a new one is ADDed. (DEL on REMOVE and ADD on reuse cost three calls per
   request, which made this mode look worse than it is.) */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *user, void *socketp) {
    (void)easy; (void)user; (void)socketp;
    if (what == CURL_POLL_REMOVE) return 0;
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    ev.events = EPOLLONESHOT | (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0) epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int on_timer(CURLM *m, long ms, void *user) {
    (void)m; (void)user;
    timeout_ms = ms;
    return 0;
}

static void collect(void) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL *easy = msg->easy_handle;
        long status = 0, opened = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &opened);
        connects += opened;
        if (msg->data.result != CURLE_OK || status < 200 || status >= 300) failures++;
        done_count++;
        curl_multi_remove_handle(multi, easy);
        if (remaining > 0) {
            remaining--;
            curl_multi_add_handle(multi, easy);
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s URL REQUESTS CONNECTIONS HEADERFILE BODYFILE [poll|epoll] [CAFILE]\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    long total = atol(argv[2]);
    int connections = atoi(argv[3]);
    long header_length, body_length;
    char *header_text = slurp(argv[4], &header_length);
    char *body = slurp(argv[5], &body_length);
    int use_epoll = argc > 6 && strcmp(argv[6], "epoll") == 0;
    const char *ca_file = argc > 7 && argv[7][0] ? argv[7] : NULL;

    struct curl_slist *headers = NULL;
    for (char *line = strtok(header_text, "\n"); line; line = strtok(NULL, "\n")) {
        headers = curl_slist_append(headers, line);
    }
    headers = curl_slist_append(headers, "Expect:");

    curl_global_init(CURL_GLOBAL_ALL);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)connections);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)(2 * connections));
    if (use_epoll) {
        epfd = epoll_create1(0);
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    }

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    remaining = total;
    for (int i = 0; i < connections && remaining > 0; i++) {
        CURL *easy = curl_easy_init();
        curl_easy_setopt(easy, CURLOPT_URL, url);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(easy, CURLOPT_USERAGENT, "webhook-worker/1.0");
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
        if (ca_file) curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file);
        remaining--;
        curl_multi_add_handle(multi, easy);
    }

    int running = 1;
    if (use_epoll) {
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        struct epoll_event events[256];
        while (done_count < total) {
            int n = epoll_wait(epfd, events, 256, timeout_ms < 0 ? 1000 : (int)timeout_ms);
            if (n == 0) {
                curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
            }
            for (int i = 0; i < n; i++) {
                int flags = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0)
                          | (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0)
                          | (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(multi, events[i].data.fd, flags, &running);
            }
            collect();
        }
    } else {
        while (done_count < total) {
            curl_multi_perform(multi, &running);
            collect();
            if (done_count < total) curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);

    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("{\"mode\": \"%s\", \"requests\": %ld, \"failures\": %ld, \"seconds\": %.4f, "
           "\"user_seconds\": %.4f, \"system_seconds\": %.4f, \"connections\": %ld}\n",
           use_epoll ? "epoll" : "poll", done_count, failures, seconds,
           usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
           usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6, connects);
    return failures == 0 ? 0 : 1;
}
