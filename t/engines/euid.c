/*
 * Linked into a copy of the template engine (t/integration/privs.sh): its
 * constructor -- the first code of a plug-in that runs -- appends the
 * effective uid it runs as to the file SM_TEST_EUID_FILE names, so the
 * test can tell whether root or the service user loaded the module.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void
euid_record(void)
{
	const char *path = getenv("SM_TEST_EUID_FILE");
	char line[64];
	int fd, n;

	if (path == NULL)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0666)) < 0)
		return;
	n = snprintf(line, sizeof(line), "euid %lu\n",
	    (unsigned long)geteuid());
	if (write(fd, line, (size_t)n) != n)
		(void)0;
	close(fd);
}
