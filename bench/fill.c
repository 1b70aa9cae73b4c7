/* fill.c — loads an experiment with N distinct users for the benchmarks:
 * exposures round-robin over K variants, 5 % of users converting, posted as
 * NDJSON bodies of 10,000 events over one keep-alive connection.
 * Usage: fill HOST PORT EXPERIMENT K N */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PER_REQUEST 10000

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, 0);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; returns its status. */
static int read_response(int fd)
{
    static char buf[65536];
    size_t used = 0;
    long clen = -1;
    char *end = NULL;
    for (;;) {
        ssize_t r = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (r <= 0) return -1;
        used += (size_t)r;
        buf[used] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            char *cl = strcasestr(buf, "Content-Length:");
            clen = cl ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (end && (long)(used - (size_t)(end + 4 - buf)) >= clen) break;
    }
    return atoi(buf + 9);
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    size_t cap = (size_t)PER_REQUEST * 200 + 4096;
    char *body = malloc(cap), head[256];
    long k, n;
    int fd;
    if (argc != 6 || !body) {
        fprintf(stderr, "usage: fill HOST PORT EXPERIMENT K N\n");
        return 2;
    }
    k = atol(argv[4]);
    n = atol(argv[5]);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
        (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("fill: connect");
        return 1;
    }
    for (long start = 0; start < n; start += PER_REQUEST) {
        size_t len = 0;
        for (long u = start; u < start + PER_REQUEST && u < n; u++) {
            len += (size_t)snprintf(body + len, cap - len,
                                    "{\"experiment\":\"%s\",\"variant\":\"v%ld\",\"user\":\"f%ld\","
                                    "\"type\":\"exposure\"}\n", argv[3], u % k, u);
            if (u % 20 == 0)
                len += (size_t)snprintf(body + len, cap - len,
                                        "{\"experiment\":\"%s\",\"user\":\"f%ld\",\"type\":"
                                        "\"conversion\",\"value\":%ld.25}\n", argv[3], u, u % 100);
        }
        int hl = snprintf(head, sizeof head, "POST /v1/events HTTP/1.1\r\nHost: %s\r\n"
                                             "Content-Length: %zu\r\n\r\n", argv[1], len);
        if (send_all(fd, head, (size_t)hl) || send_all(fd, body, len)) {
            perror("fill: send");
            return 1;
        }
        int st = read_response(fd);
        if (st != 202) {
            fprintf(stderr, "fill: answer %d at user %ld\n", st, start);
            return 1;
        }
    }
    close(fd);
    free(body);
    return 0;
}
