/* TCP echo server on port 22 (QEMU forwards a host port to it): the standalone proof of the network
 * stack, without XS. Flow control end to end: a connection reads only as much as it can write back,
 * so a client that does not read its echo stalls its own sender and nobody else. */
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "virtio_net.h"

#define ECHO_PORT 22
#define CHUNK 8192 /* bytes moved per read/write step: up to a whole send buffer */

void board_init(void);

static void pump(net_conn *c) {
  static unsigned char buf[CHUNK];
  for (;;) {
    size_t n = net_conn_available(c);
    size_t room = net_conn_writable(c);
    if (n > room) n = room;
    if (n > sizeof buf) n = sizeof buf;
    if (n == 0) break;
    net_conn_read(c, buf, n);
    int w = net_conn_write(c, buf, n);
    if (w != (int)n) {
      printf("echo: short write %d of %u\n", w, (unsigned)n);
      net_conn_abort(c);
      return;
    }
  }
  if (net_conn_ended(c)) net_conn_close(c); /* everything echoed: FIN after the queued data */
}

static void on_readable(net_conn *c, void *ctx, size_t available) {
  (void)ctx;
  (void)available;
  pump(c);
}

static void on_writable(net_conn *c, void *ctx, size_t space) {
  (void)ctx;
  (void)space;
  pump(c);
}

static void on_ended(net_conn *c, void *ctx) {
  (void)ctx;
  pump(c);
}

static void on_error(net_conn *c, void *ctx, int err) {
  (void)c;
  (void)ctx;
  printf("echo: connection error %d\n", err);
}

static const net_conn_callbacks echo_callbacks = {on_readable, on_writable, on_ended, on_error};

static void on_accept(net_listener *l, net_conn *c, void *ctx) {
  (void)l;
  (void)ctx;
  uint32_t ip;
  uint16_t port;
  net_conn_remote(c, &ip, &port);
  printf("echo: connection from %lu.%lu.%lu.%lu:%u\n", (unsigned long)(ip >> 24), (unsigned long)(ip >> 16 & 255),
         (unsigned long)(ip >> 8 & 255), (unsigned long)(ip & 255), port);
  net_conn_set_callbacks(c, &echo_callbacks, NULL);
}

static void report(void) {
  net_stats s;
  net_get_stats(&s);
  printf("stats: rx %lu tx %lu dropped rx %lu tx %lu conns open %lu total %lu refused %lu heap %lu/%lu max %lu pool %lu/%lu max %lu\n",
         (unsigned long)s.rx_frames, (unsigned long)s.tx_frames, (unsigned long)s.rx_dropped, (unsigned long)s.tx_dropped,
         (unsigned long)s.conns_open, (unsigned long)s.conns_total, (unsigned long)s.conns_refused, (unsigned long)s.mem_used,
         (unsigned long)s.mem_size, (unsigned long)s.mem_max, (unsigned long)s.pool_used, (unsigned long)s.pool_size,
         (unsigned long)s.pool_max);
}

int main(void) {
  board_init();
  net_config cfg = NET_CONFIG_QEMU_USER;
  int err = net_init(&cfg);
  if (err) {
    printf("net_init failed: %d (no virtio-net device?)\n", err);
    return 1;
  }
  if (!net_listen(ECHO_PORT, 4, on_accept, NULL)) {
    printf("listen failed\n");
    return 1;
  }
  printf("echo: virtio-net at 0x%08lx (%s transport), listening on port %d\n", (unsigned long)virtio_net_base,
         virtio_net_version == 1 ? "legacy" : "modern", ECHO_PORT);
  uint32_t last_report = net_now_ms();
  unsigned conns_seen = 0;
  for (;;) {
    net_poll();
    net_stats s;
    net_get_stats(&s);
    /* a report after each connection closes, for the test's memory figures */
    if (s.conns_total != conns_seen && s.conns_open == 0 && net_now_ms() - last_report > 50) {
      conns_seen = s.conns_total;
      last_report = net_now_ms();
      report();
    }
  }
}
