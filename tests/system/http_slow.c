/*
 * http_slow - a deliberately slow or malformed HTTP client for
 * tests/system/t_http.sh.
 *
 *   http_slow PORT INTERVAL_MS TEXT [REPEAT]
 *
 * Connects to 127.0.0.1:PORT and sends TEXT (with \r, \n and \\ escapes,
 * REPEAT times over) one byte every INTERVAL_MS milliseconds (all at once
 * for 0), while reading whatever the server answers; with INTERVAL_MS -1
 * it sends everything before reading anything, like a client that
 * pipelines requests and never reads the answers.  It stops sending when the
 * server closes or resets the connection, prints everything received, then a
 * line "closed_after_ms=N" (time from connect to the server's close), and exits
 * 0; it exits 1 if the server keeps the connection open for 30 s.  curl
 * cannot be this slow or this wrong on purpose, hence this program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GIVE_UP_MS 30000

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Turn \r \n \\ escapes into bytes, in place; returns the length. */
static size_t
unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			*o++ = *p == 'r' ? '\r' : *p == 'n' ? '\n' : *p;
		} else
			*o++ = *p;
	}
	return (size_t)(o - s);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	size_t len, sent = 0;
	long interval, start, next_send, repeat;
	char *text;
	char buf[4096];
	int fd;

	if (argc != 4 && argc != 5) {
		fprintf(stderr,
		    "usage: http_slow PORT INTERVAL_MS TEXT [REPEAT]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	interval = strtol(argv[2], NULL, 10);
	len = unescape(argv[3]);
	repeat = argc == 5 ? strtol(argv[4], NULL, 10) : 1;
	if (repeat < 1 || (size_t)repeat > SIZE_MAX / (len + 1)) {
		fprintf(stderr, "http_slow: bad REPEAT\n");
		return 2;
	}
	text = malloc(len * (size_t)repeat + 1);
	if (text == NULL) {
		perror("http_slow");
		return 2;
	}
	for (long i = 0; i < repeat; i++)
		memcpy(text + len * (size_t)i, argv[3], len);
	len *= (size_t)repeat;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("http_slow: connect");
		return 2;
	}
	start = next_send = now_ms();
	/* Everything first, reading nothing: blocking sends. */
	while (interval < 0 && sent < len) {
		ssize_t n = send(fd, text + sent, len - sent, 0);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	sent = interval < 0 ? len : sent;
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long now = now_ms(), wait;
		ssize_t n;

		if (now - start > GIVE_UP_MS) {
			printf("\nstill_open_after_ms=%ld\n", now - start);
			free(text);
			return 1;
		}
		if (sent < len && now >= next_send) {
			size_t chunk = interval > 0 ? 1 : len - sent;
			n = send(fd, text + sent, chunk, 0);
			if (n < 0)
				sent = len; /* the server is gone: just read */
			else
				sent += (size_t)n;
			next_send = now + interval;
		}
		wait = sent < len ? next_send - now_ms() : 200;
		if (poll(&pfd, 1, wait > 0 ? (int)wait : 0) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		printf("\nclosed_after_ms=%ld\n", now_ms() - start);
		close(fd);
		free(text);
		return 0;
	}
}
