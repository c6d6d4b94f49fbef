/*
 * LD_PRELOAD for running the worker under valgrind 3.19: sigsuspend with its mask copied to the
 * stack first.
 *
 * libdispatch's main-thread parking (_dispatch_sig_thread, reached through the async main)
 * calls sigsuspend with a mask in read-only memory. valgrind 3.19's wrapper of rt_sigsuspend
 * rewrites the caller's mask in place (to keep its own signals deliverable) and dies on that
 * write with an internal SIGSEGV. The copy changes nothing for the program: the kernel reads
 * the same mask.
 *
 *   cc -O2 -shared -fPIC -o sigsuspend_copy.so sigsuspend_copy.c
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, _NSIG / 8);
}
