/* TCP for the QEMU firmware: lwIP 2.1.3 (NO_SYS, raw API) over a polled virtio-mmio network device.
 *
 * Single-threaded and polled: nothing happens between calls to net_poll(), which receives frames,
 * runs lwIP's timers and calls the callbacks below. Every function here must be called from that same
 * thread (the firmware's event loop). Nothing blocks, except that sending a frame waits (at most 20 ms)
 * for a free transmit buffer when the device lags.
 *
 * The shape follows ECMA-419's socket classes (Moddable's embedded:io/socket/tcp and
 * embedded:io/socket/listener), so the XS host functions wrapping it stay thin:
 *   listener: accept callback per new connection;
 *   connection: readable(count) / read(); write() takes at most what fits in the TCP send buffer and
 *   says how much it took; writable(space) when acknowledged data frees room; ended (peer's FIN);
 *   error (reset or aborted: the connection is gone).
 * Flow control: received bytes are acknowledged to the peer (the TCP window re-opens) only as
 * net_conn_read() takes them, so a slow consumer holds at most one window (TCP_WND, 8 KiB) per
 * connection.
 */
#ifndef NET_H
#define NET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Connections that can be open at once (accepted and not yet closed). */
#ifndef NET_MAX_CONNS
#define NET_MAX_CONNS 4
#endif
/** Listening sockets. */
#ifndef NET_MAX_LISTENERS
#define NET_MAX_LISTENERS 2
#endif

/* Error codes: negative, lwIP's err_t values (ERR_MEM -1, ERR_RST -14, ERR_ABRT -13, ...). */
#define NET_OK 0

typedef struct net_listener net_listener;
typedef struct net_conn net_conn;

/** IPv4 addresses in host order: 10.0.2.15 is 0x0A00020F. */
typedef struct {
  uint32_t ip, netmask, gateway;
} net_config;

/** QEMU user networking's defaults: guest 10.0.2.15/24, gateway (and host) 10.0.2.2. */
#define NET_CONFIG_QEMU_USER ((net_config){0x0A00020Fu, 0xFFFFFF00u, 0x0A000202u})

/** Finds the virtio network device, brings lwIP and the interface up. 0 or a negative error. */
int net_init(const net_config *config);

/** Receives pending frames, sends queued ones, runs lwIP timers; calls callbacks. Returns the number
 * of frames handled (0: idle, the event loop may wait a little before the next call). */
int net_poll(void);

/** Milliseconds since start (lwIP's clock: the CLINT mtime). */
uint32_t net_now_ms(void);

/* ---- listening ---- */

/** Called for each new connection. Set its callbacks with net_conn_set_callbacks() before returning
 * (data may follow at the next net_poll), or net_conn_close() it. */
typedef void (*net_accept_fn)(net_listener *listener, net_conn *conn, void *ctx);

/** Listens on `port` (all addresses); `backlog` bounds connections not yet accepted. NULL when no
 * listener slot or pcb is free, or the port is taken. */
net_listener *net_listen(uint16_t port, int backlog, net_accept_fn accept, void *ctx);
void net_listener_close(net_listener *listener);

/* ---- connections ---- */

typedef struct {
  /** Data arrived: `available` bytes are now waiting for net_conn_read(). */
  void (*readable)(net_conn *conn, void *ctx, size_t available);
  /** Sent data was acknowledged: net_conn_write() would now take up to `space` bytes. */
  void (*writable)(net_conn *conn, void *ctx, size_t space);
  /** The peer sent FIN: no data after what is already waiting. Writing is still allowed. */
  void (*ended)(net_conn *conn, void *ctx);
  /** The connection was reset or aborted (`err` < 0). `conn` is freed when this returns: do not use
   * it afterwards, and do not close it. */
  void (*error)(net_conn *conn, void *ctx, int err);
} net_conn_callbacks;

/** Sets (or replaces) the callbacks; `callbacks` must stay valid while the connection lives. When
 * data or FIN already waits, readable/ended run at the next net_poll(). */
void net_conn_set_callbacks(net_conn *conn, const net_conn_callbacks *callbacks, void *ctx);

/** Bytes waiting to be read. */
size_t net_conn_available(const net_conn *conn);
/** Copies up to `max` waiting bytes into `dst`; returns how many. The peer may send that many more. */
size_t net_conn_read(net_conn *conn, void *dst, size_t max);
/** True once the peer's FIN arrived and every byte before it has been read. */
int net_conn_ended(const net_conn *conn);

/** Bytes net_conn_write() would take now (free TCP send buffer). */
size_t net_conn_writable(const net_conn *conn);
/** Queues up to `len` bytes for sending (copied); returns how many were taken (0 when the send buffer
 * is full: wait for writable). Never buffers beyond lwIP's TCP_SND_BUF. Negative on a dead connection. */
int net_conn_write(net_conn *conn, const void *data, size_t len);

/** Graceful close: queued data is still sent, then FIN. Unread data is dropped. No callback runs for
 * `conn` after this; the slot is free for a new connection at once. */
void net_conn_close(net_conn *conn);
/** Reset (RST), drops everything. No callback runs afterwards. */
void net_conn_abort(net_conn *conn);

/** The peer's IPv4 address (host order) and port. */
void net_conn_remote(const net_conn *conn, uint32_t *ip, uint16_t *port);

/* ---- counters, for `info` and tests ---- */

typedef struct {
  uint32_t rx_frames, tx_frames, rx_dropped, tx_dropped; /* dropped: no pbuf / no tx descriptor */
  uint32_t conns_open, conns_total, conns_refused;       /* refused: all NET_MAX_CONNS slots busy */
  uint32_t mem_used, mem_max, mem_size;                  /* lwIP heap (bytes) */
  uint32_t pool_used, pool_max, pool_size;               /* PBUF_POOL buffers */
} net_stats;

void net_get_stats(net_stats *out);

#ifdef __cplusplus
}
#endif

#endif
