/* Release and git revision, rebuilt whenever the revision changes. */
#include <lamina/kernel.h>

const char lamina_version[] = LAMINA_VERSION;
const char lamina_git[] = LAMINA_GIT;
