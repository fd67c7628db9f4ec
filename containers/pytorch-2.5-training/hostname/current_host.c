/*
 * libcurrenthost.so: make gethostname() answer the training job's current host (algo-1, algo-2, ...).
 *
 * AWS's PyTorch training DLC starts `train` with a preloaded library whose gethostname() returns the
 * "current_host" of /opt/ml/input/config/resourceconfig.json, whatever host name the container was given
 * (deep-learning-containers pytorch/training/docker/build_artifacts/start_with_right_hostname.sh). MPI and
 * NCCL use that name to tell the hosts of a job apart, and a user's script sees it in socket.gethostname().
 * This is the workshop's own implementation of that behaviour: the entrypoint (start_with_right_hostname.sh
 * in this folder's parent) preloads it for `train` only.
 *
 * uname() and the kernel's host name are left alone, as in the DLC: only gethostname() is replaced.
 * Without a readable resource config the real gethostname() answers.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char RESOURCE_CONFIG[] = "/opt/ml/input/config/resourceconfig.json";
static const char KEY[] = "\"current_host\"";

/* The value of "current_host" in the resource config, copied into HOST; 0 on success.
 * SageMaker writes the file as plain JSON and host names carry no escapes, so a key search is enough. */
static int current_host(char *host, size_t size)
{
    char text[65536];
    FILE *file = fopen(RESOURCE_CONFIG, "r");
    if (file == NULL)
        return -1;
    size_t length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = '\0';

    const char *at = strstr(text, KEY);
    if (at == NULL)
        return -1;
    at += sizeof KEY - 1;
    while (*at == ' ' || *at == '\t' || *at == '\r' || *at == '\n' || *at == ':')
        at++;
    if (*at != '"')
        return -1;
    const char *start = at + 1;
    const char *end = strchr(start, '"');
    if (end == NULL || end == start || (size_t)(end - start) >= size)
        return -1;
    memcpy(host, start, (size_t)(end - start));
    host[end - start] = '\0';
    return 0;
}

int gethostname(char *name, size_t len)
{
    char host[256];
    if (current_host(host, sizeof host) == 0) {
        /* As the DLC's library does: copy at most LEN bytes and report success. */
        strncpy(name, host, len);
        return 0;
    }
    int (*system_gethostname)(char *, size_t) = (int (*)(char *, size_t))dlsym(RTLD_NEXT, "gethostname");
    return system_gethostname ? system_gethostname(name, len) : -1;
}
