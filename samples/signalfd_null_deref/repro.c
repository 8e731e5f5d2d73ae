// LiveKBench sample reproducer: passes a regular file (not a signalfd) to signalfd4().
// The buggy kernel writes the signal mask through the file's NULL private_data before it
// checks the file type; the fixed kernel returns -EINVAL.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

int main(void)
{
	int fd = open("signalfd-victim", O_CREAT | O_RDWR, 0600);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	int r = signalfd(fd, &mask, 0);
	printf("signalfd returned %d\n", r);
	return 0;
}
