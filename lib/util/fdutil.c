#include "util/fdutil.h"

#include <fcntl.h>

int
fcntl_dupfd_cloexec(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}
