// LiveKBench sample reproducer: writes the reserved value ULLONG_MAX to an eventfd.
// The buggy kernel hits WARN_ON_ONCE in eventfd_write(); the fixed kernel returns -EINVAL quietly.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

int main(void)
{
	int fd = eventfd(0, 0);
	if (fd < 0) {
		perror("eventfd");
		return 1;
	}
	uint64_t value = UINT64_MAX;
	ssize_t n = write(fd, &value, sizeof(value));
	printf("write returned %zd\n", n);
	close(fd);
	return 0;
}
