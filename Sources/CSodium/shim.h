#include <sodium.h>
#include <sys/prctl.h>

/* For ProcessSecrets: prctl is variadic, which Swift cannot call. */
static inline int keepsake_forbid_dumps(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
