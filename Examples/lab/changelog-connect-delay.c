/* Lab-only workaround for a race in GlusterFS's changelog translator (10.3 and master,
 * xlators/features/changelog/src/changelog-ev-handle.c): changelog_ev_connector() moves a new
 * consumer (a geo-rep worker's libgfchangelog) to the connection's waitq AFTER it starts the
 * connection, without holding the lock the connection's RPC_CLNT_CONNECT notification takes
 * (changelog_rpc_notify) to move it to the active list. When the notification wins, the consumer
 * ends up on waitq, which nothing reads: the brick never sends it a changelog event, and the
 * session sits in "Changelog Crawl" replicating nothing until its worker restarts.
 *
 * Loaded with LD_PRELOAD into the lab's glusterd (the bricks inherit it), this wraps
 * rpc_clnt_register_notify(): for a notify function of the changelog translator only, it registers
 * a trampoline that waits 250 ms before passing RPC_CLNT_CONNECT on, so the connector thread has
 * moved the consumer to waitq before the notification moves it to active. Every other client,
 * and every other event, goes straight through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

struct rpc_clnt;
typedef int (*notify_fn)(struct rpc_clnt *rpc, void *mydata, int event, void *data);
typedef int (*register_fn)(struct rpc_clnt *rpc, notify_fn fn, void *mydata);

static notify_fn changelog_notify;

static int delayed_connect(struct rpc_clnt *rpc, void *mydata, int event, void *data)
{
    if (event == 0 /* RPC_CLNT_CONNECT */)
        usleep(250 * 1000);
    return changelog_notify(rpc, mydata, event, data);
}

int rpc_clnt_register_notify(struct rpc_clnt *rpc, notify_fn fn, void *mydata)
{
    static register_fn real;
    Dl_info info;
    if (!real)
        real = (register_fn)dlsym(RTLD_NEXT, "rpc_clnt_register_notify");
    if (fn && dladdr((void *)fn, &info) && info.dli_fname
        && strstr(info.dli_fname, "/xlator/features/changelog.so")) {
        changelog_notify = fn;
        fn = delayed_connect;
    }
    return real(rpc, fn, mydata);
}
