#ifndef RSTDOCTOR_CNETNS_SHIM_H
#define RSTDOCTOR_CNETNS_SHIM_H
/* setns(2) is declared by glibc's <sched.h> only under _GNU_SOURCE, which Swift's Glibc module is
   built without; the declaration below is glibc's own. CLONE_NEWNET is 0x40000000 in <linux/sched.h>. */
extern int setns(int fd, int nstype);
/* Moves the calling thread (only it) into the network namespace open at fd: 0, or -1 with errno. */
static inline int rstd_setns_net(int fd) { return setns(fd, 0x40000000); }
/* A hint that *p will be read soon (Swift has no prefetch of its own): the flow tracker asks for
   the table slots of the packets a few places ahead while it works on the current one. */
static inline void rstd_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
/* The same for memory about to be written: its line is fetched for writing (owned by this core) ahead
   of the store. On x86 prefetchw itself: __builtin_prefetch(p, 1, 3) is a read prefetch on baseline
   x86-64. Elsewhere (arm64: prfm pstl1keep) the builtin is the write prefetch. */
#if defined(__x86_64__) || defined(__i386__)
static inline void rstd_prefetch_write(const void *p) { __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p)); }
#else
static inline void rstd_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }
#endif
#endif
