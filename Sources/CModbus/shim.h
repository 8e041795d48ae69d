#include <modbus/modbus.h>
#include <errno.h>

// errno is a macro on glibc; read it right after the failing call (libmodbus #468).
static inline int cmodbus_errno(void) { return errno; }
static inline void cmodbus_set_errno(int value) { errno = value; }
// libmodbus exception codes live above MODBUS_ENOBASE; expose the base as a function.
static inline int cmodbus_enobase(void) { return MODBUS_ENOBASE; }
