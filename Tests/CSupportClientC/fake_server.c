#define _GNU_SOURCE
#include "fake_server.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int counter;

int fake_start(fake_server *server, fake_script script) {
    snprintf(server->path, sizeof server->path, "/tmp/sd-fake-%d-%d.sock", (int)getpid(), counter++);
    unlink(server->path);
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, server->path, strlen(server->path));
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4) != 0) {
        perror("fake_start");
        return -1;
    }
    server->pid = fork();
    if (server->pid < 0) return -1;
    if (server->pid == 0) {
        signal(SIGALRM, SIG_DFL);
        alarm(10);
        int fd = accept(listener, NULL, NULL);
        close(listener);
        int status = fd < 0 ? 100 : script(fd);
        if (fd >= 0) close(fd);
        _exit(status);
    }
    close(listener);
    return 0;
}

int fake_finish(fake_server *server) {
    int status = 0;
    while (waitpid(server->pid, &status, 0) < 0 && errno == EINTR) {
    }
    unlink(server->path);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int fake_write(int fd, const void *bytes, size_t len) {
    const uint8_t *p = bytes;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fake_write_frame(int fd, const Support__Rpc__V1__Frame *frame) {
    size_t len = support__rpc__v1__frame__get_packed_size(frame);
    uint8_t *bytes = malloc(len + 4);
    bytes[0] = (uint8_t)(len >> 24);
    bytes[1] = (uint8_t)(len >> 16);
    bytes[2] = (uint8_t)(len >> 8);
    bytes[3] = (uint8_t)len;
    support__rpc__v1__frame__pack(frame, bytes + 4);
    int result = fake_write(fd, bytes, len + 4);
    free(bytes);
    return result;
}

static int read_exact(int fd, uint8_t *buf, size_t len) {
    while (len > 0) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

Support__Rpc__V1__Frame *fake_read_frame(int fd) {
    uint8_t header[4];
    if (read_exact(fd, header, 4) != 0) return NULL;
    uint32_t len = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
    if (len == 0 || len > 8u * 1024 * 1024) return NULL;
    uint8_t *body = malloc(len);
    if (read_exact(fd, body, len) != 0) {
        free(body);
        return NULL;
    }
    Support__Rpc__V1__Frame *frame = support__rpc__v1__frame__unpack(NULL, len, body);
    free(body);
    return frame;
}

int fake_respond(int fd, uint64_t call_id, int code, const char *message, const uint8_t *payload, size_t len) {
    Support__Rpc__V1__Status status = SUPPORT__RPC__V1__STATUS__INIT;
    status.code = code;
    status.message = (char *)message;
    Support__Rpc__V1__Response response = SUPPORT__RPC__V1__RESPONSE__INIT;
    response.call_id = call_id;
    response.status = &status;
    response.payload.data = (uint8_t *)payload;
    response.payload.len = len;
    Support__Rpc__V1__Frame frame = SUPPORT__RPC__V1__FRAME__INIT;
    frame.kind_case = SUPPORT__RPC__V1__FRAME__KIND_RESPONSE;
    frame.response = &response;
    return fake_write_frame(fd, &frame);
}
