#include <mosquitto.h>
#include <errno.h>

static inline int cmosquitto_errno(void) { return errno; }
#include <sys/ioctl.h>

/// Bytes waiting in a socket's receive buffer (FIONREAD), or -1.
static inline int cmosquitto_readable_bytes(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

static inline void cmosquitto_clear_errno(void) { errno = 0; }
static inline int cmosquitto_would_block(void) { return errno == EAGAIN || errno == EWOULDBLOCK; }
