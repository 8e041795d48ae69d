#include <mosquitto.h>
#include <errno.h>

static inline int cmosquitto_errno(void) { return errno; }
