/*
 * ngx_streamline_module: the main-context settings shared by the RTMP and
 * HTTP sides (Redis address, timeouts, key prefix, state TTL), the
 * per-worker Redis client's start and stop, and what both sides read: the
 * clock in ms, the per-worker state cache, owner tokens.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_streamline.h"
#include "ngx_streamline_packager.h"
#include "ngx_streamline_store.h"
#include "core/sl_sentinel.h"


static void *ngx_streamline_create_conf(ngx_cycle_t *cycle);
static char *ngx_streamline_init_conf(ngx_cycle_t *cycle, void *conf);
static char *ngx_streamline_redis_addr(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_streamline_origin_address(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_streamline_redis_sentinels(ngx_conf_t *cf,
    ngx_streamline_main_conf_t *smcf, ngx_str_t *value);
static ngx_int_t ngx_streamline_resolve(ngx_conf_t *cf, ngx_str_t *url,
    in_port_t port, ngx_streamline_addr_t *addr);
static char *ngx_streamline_check_positive(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_streamline_stat(ngx_pid_t pid, uint64_t *start);
static ngx_int_t ngx_streamline_owner_parse(const u_char *owner, size_t len,
    sl_owner_t *o);


static uint64_t    ngx_streamline_start;   /* this process's start time */

static sl_cache_t  ngx_streamline_cache_;


static ngx_conf_post_t  ngx_streamline_positive = {
    ngx_streamline_check_positive
};


static ngx_command_t  ngx_streamline_commands[] = {

    { ngx_string("streamline_redis"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_streamline_redis_addr,
      0,
      0,
      NULL },

    { ngx_string("streamline_redis_timeout"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_streamline_main_conf_t, redis_timeout),
      &ngx_streamline_positive },

    { ngx_string("streamline_redis_prefix"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_streamline_main_conf_t, prefix),
      NULL },

    { ngx_string("streamline_state_ttl"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_streamline_main_conf_t, state_ttl),
      &ngx_streamline_positive },

    { ngx_string("streamline_media_zone"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      0,
      offsetof(ngx_streamline_main_conf_t, media_zone_size),
      NULL },

    { ngx_string("streamline_queue_size"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_streamline_main_conf_t, queue_size),
      &ngx_streamline_positive },

    { ngx_string("streamline_origin_address"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_streamline_origin_address,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_streamline_module_ctx = {
    ngx_string("streamline"),
    ngx_streamline_create_conf,
    ngx_streamline_init_conf
};


ngx_module_t  ngx_streamline_module = {
    NGX_MODULE_V1,
    &ngx_streamline_module_ctx,            /* module context */
    ngx_streamline_commands,               /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_streamline_create_conf(ngx_cycle_t *cycle)
{
    ngx_streamline_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cycle->pool, sizeof(ngx_streamline_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    smcf->redis_timeout = NGX_CONF_UNSET_MSEC;
    smcf->state_ttl = NGX_CONF_UNSET_MSEC;
    smcf->queue_size = NGX_CONF_UNSET_UINT;
    smcf->media_zone_size = NGX_CONF_UNSET_SIZE;

    return smcf;
}


static char *
ngx_streamline_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_streamline_main_conf_t  *smcf = conf;

    if (smcf->redis.len == 0) {
        ngx_str_set(&smcf->redis, "127.0.0.1:6379");
        ngx_str_set(&smcf->redis_host, "127.0.0.1");
        smcf->redis_port = 6379;
    }

    ngx_conf_init_msec_value(smcf->redis_timeout, 1000);
    ngx_conf_init_msec_value(smcf->state_ttl, 15000);
    ngx_conf_init_uint_value(smcf->queue_size, 1024);
    ngx_conf_init_size_value(smcf->media_zone_size, 64 * 1024 * 1024);

    if (smcf->media_zone) {
        smcf->media_zone->shm.size = smcf->media_zone_size;
    }

    if (smcf->prefix.data == NULL) {
        ngx_str_set(&smcf->prefix, "streamline:");
    }

    if (smcf->state_ttl < 1000) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "\"streamline_state_ttl\" must be at least 1s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * "host:port" (or, with sentinels, each sentinel's) is resolved here, at
 * configuration time: workers never look names up (hiredis would do it
 * with a blocking getaddrinfo()).
 */
static char *
ngx_streamline_redis_addr(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_streamline_main_conf_t  *smcf = conf;

    ngx_str_t                   *value;
    ngx_streamline_addr_t        addr;

    if (smcf->redis.len) {
        return "is duplicate";
    }

    smcf->redis_needed = 1;

    value = cf->args->elts;
    smcf->redis = value[1];

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_redis\" needs an address");
        return NGX_CONF_ERROR;
    }

    if (sl_sentinel_url_is(value[1].data, value[1].len)) {
        return ngx_streamline_redis_sentinels(cf, smcf, &value[1]);
    }

    if (value[1].len > 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        if (value[1].len == 5 || value[1].data[5] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"streamline_redis\" unix socket path "
                               "must be absolute in \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        smcf->redis_unix.len = value[1].len - 5;
        smcf->redis_unix.data = ngx_pnalloc(cf->pool, value[1].len - 4);
        if (smcf->redis_unix.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(smcf->redis_unix.data, value[1].data + 5,
                    value[1].len - 4);
        return NGX_CONF_OK;
    }

    if (ngx_streamline_resolve(cf, &value[1], 6379, &addr) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    smcf->redis_host = addr.host;
    smcf->redis_port = addr.port;

    return NGX_CONF_OK;
}


/*
 * "sentinel://host:port,host:port,.../mastername": every sentinel is
 * resolved now; the master is asked for by each worker
 * (ngx_streamline_redis_sentinel.c) and written into redis_host.
 */
static char *
ngx_streamline_redis_sentinels(ngx_conf_t *cf,
    ngx_streamline_main_conf_t *smcf, ngx_str_t *value)
{
    ngx_str_t               s;
    ngx_uint_t              i;
    const char             *err;
    sl_sentinel_url_t       u;
    ngx_streamline_addr_t  *addr;

    if (sl_sentinel_url_parse(value->data, value->len, &u, &err) != SL_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_redis\" \"%V\" %s", value, err);
        return NGX_CONF_ERROR;
    }

    smcf->sentinels = ngx_array_create(cf->pool, u.naddrs,
                                       sizeof(ngx_streamline_addr_t));
    if (smcf->sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < u.naddrs; i++) {
        addr = ngx_array_push(smcf->sentinels);
        if (addr == NULL) {
            return NGX_CONF_ERROR;
        }

        s.data = (u_char *) u.addrs[i].data;
        s.len = u.addrs[i].len;

        if (ngx_streamline_resolve(cf, &s, SL_SENTINEL_PORT, addr) != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    smcf->sentinel_master.len = u.name.len;
    smcf->sentinel_master.data = ngx_pnalloc(cf->pool, u.name.len + 1);
    if (smcf->sentinel_master.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(smcf->sentinel_master.data, (u_char *) u.name.data,
                u.name.len + 1);

    /* the master the worker is told of goes here; none yet */
    smcf->redis_host.data = ngx_pcalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (smcf->redis_host.data == NULL) {
        return NGX_CONF_ERROR;
    }

    smcf->redis_host.len = 0;
    smcf->redis_port = 0;

    return NGX_CONF_OK;
}


/* "host[:port]" to a numeric address (the first a name resolves to) */
static ngx_int_t
ngx_streamline_resolve(ngx_conf_t *cf, ngx_str_t *url, in_port_t port,
    ngx_streamline_addr_t *addr)
{
    u_char     *p;
    ngx_url_t   u;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = *url;
    u.default_port = port;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_redis\" %s in \"%V\"",
                           u.err ? u.err : "invalid address", url);
        return NGX_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_redis\" could not resolve \"%V\"",
                           url);
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    addr->name = *url;
    addr->host.len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                                   p, NGX_SOCKADDR_STRLEN, 0);
    p[addr->host.len] = '\0';
    addr->host.data = p;
    addr->port = u.port;

    /* IPv6 literals come back bracketed; hiredis wants them bare */
    if (p[0] == '[') {
        addr->host.data++;
        addr->host.len -= 2;
        addr->host.data[addr->host.len] = '\0';
    }

    return NGX_OK;
}


/*
 * Where edges reach this origin's HTTP side: written into the state of
 * every channel it makes live, read by streamline_route at the edges and
 * handed to proxy_pass as it is.
 */
static char *
ngx_streamline_origin_address(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_streamline_main_conf_t  *smcf = conf;

    ngx_str_t  *value;

    if (smcf->origin.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (!sl_origin_valid(value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"streamline_origin_address\" \"%V\" is not an "
                           "address: 1 to %d bytes of A-Z a-z 0-9 . - _ : "
                           "[ ] (host:port, [ipv6]:port, or an upstream "
                           "name)", &value[1], SL_ORIGIN_MAX);
        return NGX_CONF_ERROR;
    }

    smcf->origin = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_streamline_check_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *np = data;

    /* msec and num slots share the representation's width */
    if (*np == 0) {
        return "must be positive";
    }

    return NGX_CONF_OK;
}



/*
 * Called from ngx_http_streamline_module's init_process: in a static build
 * core modules of addons initialise before the event module, so timers and
 * connections would not exist yet here.
 */
ngx_int_t
ngx_streamline_init_process(ngx_cycle_t *cycle)
{
    sl_cache_entry_t            *entries;
    ngx_streamline_main_conf_t  *smcf;

    /* only workers talk to Redis: not the master, not the cache manager */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(cycle->conf_ctx, ngx_streamline_module);

    if (ngx_streamline_stat(ngx_pid, &ngx_streamline_start) == NGX_ERROR) {
        /* without /proc owners are told apart by their pid only */
        ngx_streamline_start = 0;
    }

    ngx_streamline_metrics_init_process(cycle);
    ngx_streamline_store_init_process(cycle);
    ngx_streamline_packager_init_process(cycle);

    entries = ngx_alloc(NGX_STREAMLINE_CACHE_SIZE * sizeof(sl_cache_entry_t),
                        cycle->log);
    if (entries == NULL) {
        return NGX_ERROR;
    }

    sl_cache_init(&ngx_streamline_cache_, entries, NGX_STREAMLINE_CACHE_SIZE);

    if (!smcf->redis_needed) {
        return NGX_OK;
    }

    return ngx_streamline_redis_init(cycle, smcf);
}


void
ngx_streamline_exit_process(ngx_cycle_t *cycle)
{
    /*
     * Terminated while shutting down gracefully (TERM after a reload that
     * left a publisher here): nginx alerts about connections left open.
     */
    if (ngx_exiting) {
        ngx_rtmp_streamline_drop_publishers(cycle, 1);
    }

    /* first the media: its last segments, then the idle states */
    ngx_streamline_store_leave();
    ngx_streamline_packager_exit_process(cycle);
    ngx_streamline_thread_log_flush();
    ngx_streamline_store_exit_process(cycle);
    ngx_streamline_redis_exit(cycle);

    /* after the Redis client, whose last callbacks may still read it */
    ngx_free(ngx_streamline_cache_.entries);

    ngx_streamline_metrics_exit_process(cycle);
}


void
ngx_streamline_needs_redis(ngx_conf_t *cf)
{
    ngx_streamline_main_conf_t  *smcf;

    smcf = (ngx_streamline_main_conf_t *)
               ngx_get_conf(cf->cycle->conf_ctx, ngx_streamline_module);
    smcf->redis_needed = 1;
}


int64_t
ngx_streamline_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


sl_cache_t *
ngx_streamline_cache(void)
{
    return &ngx_streamline_cache_;
}


/* owner tokens */

size_t
ngx_streamline_owner(u_char *buf, ngx_uint_t conn)
{
    sl_owner_t  o;

    o.host = ngx_cycle->hostname.data;
    o.host_len = ngx_cycle->hostname.len;
    o.pid = (uint64_t) ngx_pid;
    o.start = ngx_streamline_start;

    return sl_owner_format(buf, &o, conn, ngx_current_msec);
}


uint64_t
ngx_streamline_process_start(void)
{
    return ngx_streamline_start;
}


/*
 * Only a token of this host can be proved dead: the host is the name
 * nginx read at start (hosts that share a name must share a pid
 * namespace, see README).  A token that does not parse is not ours.
 */
ngx_uint_t
ngx_streamline_owner_gone(const u_char *owner, size_t len)
{
    sl_owner_t  o;

    if (ngx_streamline_owner_parse(owner, len, &o) != NGX_OK) {
        return 0;
    }

    return ngx_streamline_process_gone((ngx_pid_t) o.pid, o.start);
}


ngx_uint_t
ngx_streamline_owner_self(const u_char *owner, size_t len)
{
    sl_owner_t  o;

    return ngx_streamline_owner_parse(owner, len, &o) == NGX_OK
           && (ngx_pid_t) o.pid == ngx_pid
           && o.start == ngx_streamline_start;
}


/* a token of this host (the name nginx read at start) */
static ngx_int_t
ngx_streamline_owner_parse(const u_char *owner, size_t len, sl_owner_t *o)
{
    size_t  host_len;

    if (sl_owner_parse(owner, len, o) != SL_OK
        || o->pid == 0 || o->pid > NGX_MAX_INT32_VALUE)
    {
        return NGX_DECLINED;
    }

    host_len = ngx_min(ngx_cycle->hostname.len, SL_OWNER_HOST_MAX);

    if (o->host_len != host_len
        || ngx_memcmp(o->host, ngx_cycle->hostname.data, host_len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Gone: no such process, a zombie (a killed worker the master has not
 * reaped yet), or another process under that pid (another start time).
 * A pid is checked with kill(0) and one read of /proc: no waiting.
 */
ngx_uint_t
ngx_streamline_process_gone(ngx_pid_t pid, uint64_t start)
{
    uint64_t  now;

    if (pid <= 0) {
        return 0;
    }

    if (kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
        return 1;
    }

    switch (ngx_streamline_stat(pid, &now)) {

    case NGX_DONE:
        return 1;

    case NGX_OK:
        return start != 0 && now != start;

    default:
        /* no /proc: the pid is taken, by whom cannot be told */
        return 0;
    }
}


/* NGX_OK and the start time; NGX_DONE: gone or a zombie; NGX_ERROR */
static ngx_int_t
ngx_streamline_stat(ngx_pid_t pid, uint64_t *start)
{
    char             state;
    u_char           path[sizeof("/proc//stat") + NGX_INT64_LEN], buf[1024];
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    ngx_sprintf(path, "/proc/%P/stat%Z", pid);

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        /* gone, if /proc is there at all */
        if (ngx_errno == NGX_ENOENT
            && ngx_file_info("/proc/self/stat", &fi) != NGX_FILE_ERROR)
        {
            return NGX_DONE;
        }

        return NGX_ERROR;
    }

    n = read(fd, buf, sizeof(buf));
    (void) ngx_close_file(fd);

    if (n <= 0
        || sl_proc_stat_parse(buf, (size_t) n, &state, start) != SL_OK)
    {
        /* a process that exits between open and read reads empty */
        return n == 0 ? NGX_DONE : NGX_ERROR;
    }

    return state == 'Z' || state == 'X' ? NGX_DONE : NGX_OK;
}
