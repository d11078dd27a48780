// The libc stub resolver (res_n* and ns_parse), as MailMaps' DNS lookups use it.
// Accessors for the macros of <arpa/nameser.h> and the nameserver fields of res_state, so that the
// Swift side makes plain calls. No DNS wire format is written or read here: libresolv does that.
#ifndef SWIFTMTA_CRESOLVER_SHIM_H
#define SWIFTMTA_CRESOLVER_SHIM_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

/// A fresh res_state, initialised from /etc/resolv.conf; NULL when memory runs out.
/// The returned state must be released with swiftmta_res_free.
static inline res_state swiftmta_res_new(int *status) {
    res_state state = calloc(1, sizeof(struct __res_state));
    if (state == NULL) { *status = -1; return NULL; }
    *status = res_ninit(state);
    return state;
}

static inline void swiftmta_res_free(res_state state) {
    if (state == NULL) return;
    res_nclose(state);
    free(state);
}

/// Drops the nameservers res_ninit found, before swiftmta_res_add_nameserver adds others.
static inline void swiftmta_res_clear_nameservers(res_state state) {
#ifdef __GLIBC__
    for (int i = 0; i < MAXNS; i++) {
        if (state->_u._ext.nsaddrs[i] != NULL) {
            free(state->_u._ext.nsaddrs[i]);
            state->_u._ext.nsaddrs[i] = NULL;
        }
    }
#endif
    memset(state->nsaddr_list, 0, sizeof(state->nsaddr_list));
    state->nscount = 0;
}

/// Adds a nameserver given as a numeric IPv4 or IPv6 address and a port.
/// Returns 0, or -1 when the address does not parse, or -2 when MAXNS servers are already set.
static inline int swiftmta_res_add_nameserver(res_state state, const char *address, unsigned short port) {
    int index = state->nscount;
    if (index >= MAXNS) return -2;
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, address, &v4) == 1) {
        state->nsaddr_list[index].sin_family = AF_INET;
        state->nsaddr_list[index].sin_port = htons(port);
        state->nsaddr_list[index].sin_addr = v4;
    } else if (inet_pton(AF_INET6, address, &v6) == 1) {
#ifdef __GLIBC__
        // glibc reads an IPv6 server from _ext.nsaddrs when the IPv4 slot's family is 0, and
        // frees it in res_nclose.
        struct sockaddr_in6 *sa = calloc(1, sizeof(struct sockaddr_in6));
        if (sa == NULL) return -1;
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons(port);
        sa->sin6_addr = v6;
        memset(&state->nsaddr_list[index], 0, sizeof(state->nsaddr_list[index]));
        state->_u._ext.nsaddrs[index] = sa;
#else
        return -1;
#endif
    } else {
        return -1;
    }
    state->nscount = index + 1;
    return 0;
}

static inline void swiftmta_res_set_timing(res_state state, int retransmitSeconds, int attempts) {
    state->retrans = retransmitSeconds;
    state->retry = attempts;
}

static inline void swiftmta_res_set_option(res_state state, unsigned long option, int on) {
    if (on) state->options |= option; else state->options &= ~option;
}

static inline int swiftmta_res_nscount(res_state state) { return state->nscount; }

/// Nameserver `index` of a state: its numeric address as text (as inet_ntop writes it) and its port.
/// Returns 0, or -1 when the slot holds no address this can read.
static inline int swiftmta_res_nameserver(res_state state, int index, char *text, int textSize, unsigned short *port) {
    if (index < 0 || index >= state->nscount || index >= MAXNS) return -1;
    if (state->nsaddr_list[index].sin_family == AF_INET) {
        if (inet_ntop(AF_INET, &state->nsaddr_list[index].sin_addr, text, (socklen_t)textSize) == NULL) return -1;
        *port = ntohs(state->nsaddr_list[index].sin_port);
        return 0;
    }
#ifdef __GLIBC__
    // glibc keeps IPv6 servers in _ext.nsaddrs (the IPv4 slot's family is then 0).
    struct sockaddr_in6 *sa = state->_u._ext.nsaddrs[index];
    if (sa != NULL && sa->sin6_family == AF_INET6) {
        if (inet_ntop(AF_INET6, &sa->sin6_addr, text, (socklen_t)textSize) == NULL) return -1;
        *port = ntohs(sa->sin6_port);
        return 0;
    }
#endif
    return -1;
}

static inline unsigned long swiftmta_res_opt_trustad(void) {
#ifdef RES_TRUSTAD
    return RES_TRUSTAD;
#else
    return 0;
#endif
}

static inline unsigned long swiftmta_res_opt_edns0(void) { return RES_USE_EDNS0; }

/// Builds a query for (name, class IN, type), sends it to the state's nameservers (UDP, TCP when
/// truncated, retries as configured) and leaves the response in `answer`.
/// Returns the response length, -1 when the query cannot be built (a bad name), -2 when no
/// nameserver answered in time (errno tells why).
static inline int swiftmta_res_query(res_state state, const char *name, int type,
                                     unsigned char *answer, int answerSize) {
    unsigned char query[NS_PACKETSZ + 64];
    int length = res_nmkquery(state, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, query, sizeof(query));
    if (length < 0) return -1;
    int received = res_nsend(state, query, length, answer, answerSize);
    if (received < 0) return -2;
    return received;
}

static inline int swiftmta_ns_msg_count(ns_msg *message, ns_sect section) {
    return ns_msg_count(*message, section);
}

static inline int swiftmta_ns_msg_getflag(ns_msg *message, ns_flag flag) {
    return ns_msg_getflag(*message, flag);
}

static inline const unsigned char *swiftmta_ns_msg_base(ns_msg *message) { return ns_msg_base(*message); }
static inline const unsigned char *swiftmta_ns_msg_end(ns_msg *message) { return ns_msg_end(*message); }

static inline const char *swiftmta_ns_rr_name(ns_rr *rr) { return ns_rr_name(*rr); }
static inline int swiftmta_ns_rr_type(ns_rr *rr) { return ns_rr_type(*rr); }
static inline int swiftmta_ns_rr_class(ns_rr *rr) { return ns_rr_class(*rr); }
static inline unsigned int swiftmta_ns_rr_ttl(ns_rr *rr) { return ns_rr_ttl(*rr); }
static inline int swiftmta_ns_rr_rdlen(ns_rr *rr) { return ns_rr_rdlen(*rr); }
static inline const unsigned char *swiftmta_ns_rr_rdata(ns_rr *rr) { return ns_rr_rdata(*rr); }

#endif
