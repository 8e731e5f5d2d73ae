// LiveKBench sample reproducer: sets a trusted.* extended attribute on a tmpfs file.
// The buggy kernel frees the copied value before do_setxattr() reads it (use-after-free);
// the fixed kernel stores the attribute.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

int main(void)
{
	int fd = open("xattr-victim", O_CREAT | O_RDWR, 0600);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	close(fd);
	char value[200];
	memset(value, 'k', sizeof(value));
	for (int i = 0; i < 4; i++) {
		int r = setxattr("xattr-victim", "trusted.kbench", value, sizeof(value), 0);
		printf("setxattr returned %d\n", r);
	}
	return 0;
}
