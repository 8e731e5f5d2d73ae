// LiveKBench sample reproducer with a racy-looking, flaky outcome: each run draws one random bit
// (getrandom, GRND_INSECURE: never blocks at boot) and takes the buggy path (signalfd4() on a regular
// file: NULL private_data written on the buggy kernel) only when the bit is 1, so the buggy kernel
// crashes in about half of the runs. Otherwise it calls signalfd4() the valid way (a new signalfd).
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif

int main(void)
{
	unsigned char coin = 0;
	if (getrandom(&coin, 1, GRND_INSECURE) != 1 && getrandom(&coin, 1, GRND_NONBLOCK) != 1) {
		perror("getrandom");
		return 1;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	if (coin & 1) {
		int fd = open("signalfd-victim", O_CREAT | O_RDWR, 0600);
		if (fd < 0) {
			perror("open");
			return 1;
		}
		printf("coin=1: signalfd on a regular file\n");
		fflush(stdout);
		printf("signalfd returned %d\n", signalfd(fd, &mask, 0));
	} else {
		printf("coin=0: a new signalfd\n");
		printf("signalfd returned %d\n", signalfd(-1, &mask, 0));
	}
	return 0;
}
