/*
 * LD_PRELOAD shim for `make bench-profile` only: libdispatch's dispatch_main() (which Swift's async
 * main ends in) calls sigsuspend() on a `static const sigset_t`, in read-only memory; valgrind 3.19
 * writes to the mask it is given (to sanitize it) and dies with SIGSEGV. This sigsuspend() hands the
 * kernel a writable copy of the mask; nothing else changes.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, (size_t)(_NSIG / 8));
}
