/*
 * A co-runner for scripts/benchlib/contention.py: spins for BUSY microseconds, sleeps for SLEEP
 * microseconds, and again, until killed. It stands for work that shares the two cores with a
 * sender (a worker's dispatcher and Redis beside its HTTP thread) without being the sender.
 *
 *   cc -O2 -o co_runner co_runner.c
 *   co_runner BUSY SLEEP
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    double busy = atof(argv[1]) * 1e-6;
    useconds_t pause = (useconds_t)atoi(argv[2]);
    volatile unsigned long spins = 0;
    for (;;) {
        double end = now() + busy;
        while (now() < end) spins++;
        usleep(pause);
    }
}
