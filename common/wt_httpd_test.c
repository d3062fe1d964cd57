/* Unit test of wt_httpd: a request still gets its answer when the process
 * holds more than FD_SETSIZE descriptors (a worker with hundreds of live
 * sessions), which select()-based polling could not serve. */
#include "wt_httpd.h"

#include "wt_test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data, (void)upload_size;
    (void)con_cls;
    wt_buf_t body;
    wt_buf_init(&body, 1024);
    wt_buf_puts(&body, "pong\n", NULL);
    return wt_httpd_reply(conn, MHD_HTTP_OK, "text/plain", &body);
}

/* GET / on 127.0.0.1:port with a plain socket; the reply's first bytes. */
static int
get(int port, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    const char *req = "GET / HTTP/1.0\r\n\r\n";
    ssize_t w = write(fd, req, strlen(req));
    ssize_t n = w > 0 ? read(fd, out, cap - 1) : -1;
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    return (int)n;
}

static void
test_many_descriptors(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2 * FD_SETSIZE && rl.rlim_max >= 2 * FD_SETSIZE) {
        rl.rlim_cur = 2 * FD_SETSIZE;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    WT_CHECK(rl.rlim_cur >= 2 * FD_SETSIZE);
    int fds[FD_SETSIZE + 64];
    int nfds = 0;
    for (; nfds < FD_SETSIZE + 64; nfds++) /* push the next descriptors past FD_SETSIZE */
        if ((fds[nfds] = open("/dev/null", O_RDONLY)) < 0)
            break;
    WT_CHECK(nfds == FD_SETSIZE + 64);
    wt_err_t err = {0};
    int port = 0;
    for (int tries = 0; tries < 20 && port == 0; tries++) {
        int p = 20000 + (getpid() * 7 + tries * 131) % 30000;
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", p);
        struct MHD_Daemon *d = wt_httpd_start(addr, 8, on_request, NULL, NULL, &err);
        if (d == NULL)
            continue;
        port = p;
        char buf[256];
        WT_CHECK(get(port, buf, sizeof buf) > 0);
        WT_CHECK(strstr(buf, "200") != NULL && strstr(buf, "pong") != NULL);
        MHD_stop_daemon(d);
    }
    WT_CHECK(port != 0);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
}

static void
test_bad_address(void)
{
    wt_err_t err = {0};
    WT_CHECK(wt_httpd_start("no-port", 8, on_request, NULL, NULL, &err) == NULL);
    WT_CHECK(strstr(err.msg, "--http") != NULL);
}

WT_TEST_MAIN(WT_TEST(test_many_descriptors), WT_TEST(test_bad_address))
