/* TCP listeners and connections over lwIP's raw API (see net.h).
 *
 * lwIP's callbacks only record what happened (data queued, FIN, acknowledgement, error) in the
 * connection's slot; the application's callbacks run afterwards from net_poll(), outside lwIP, so an
 * application may write, read, close or abort from any callback without re-entering lwIP. */
#include "net.h"

#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "virtio_net.h"

/* Keepalive: a client that vanished (unplugged laptop) frees its slot after ~2 minutes. */
#define KEEPALIVE_IDLE_MS 60000u
#define KEEPALIVE_INTERVAL_MS 10000u
#define KEEPALIVE_COUNT 6u
/* Received pbufs queued per connection before they are merged into one heap buffer (tiny segments
 * would otherwise each pin a pbuf), and the most that may be queued at all (beyond: lwIP keeps the
 * segment as refused data and offers it again later). */
#define RX_MERGE_PBUFS 8u
#define RX_MAX_PBUFS 16u
/* lwIP's poll callback interval (units of 500 ms) for retrying a write refused for lack of heap. */
#define POLL_INTERVAL 1u

enum { P_ACCEPT = 1, P_READABLE = 2, P_ENDED = 4, P_WRITABLE = 8, P_ERROR = 16 };

struct net_listener {
  struct tcp_pcb *pcb;
  net_accept_fn accept;
  void *ctx;
  uint8_t used;
};

struct net_conn {
  struct tcp_pcb *pcb;       /* NULL once lwIP freed it (error) */
  net_listener *listener;
  const net_conn_callbacks *cb;
  void *ctx;
  struct pbuf *rx;           /* received, unread: a chain */
  size_t avail;              /* bytes in rx */
  uint32_t gen;              /* changes each time the slot is reused */
  int err;
  uint8_t used, pend, eof, write_blocked;
};

static struct netif netif;
static net_listener listeners[NET_MAX_LISTENERS];
static net_conn conns[NET_MAX_CONNS];
static uint32_t conns_total, conns_refused;

void net_platform_assert(const char *msg, const char *file, int line) {
  printf("lwIP assertion \"%s\" failed at %s:%d\n", msg, file, line);
  _exit(134); /* the platform's exit: QEMU's test device, a reset on a board */
}

uint32_t net_now_ms(void) {
  return sys_now();
}

static void detach_pcb(struct tcp_pcb *pcb) {
  tcp_arg(pcb, NULL);
  tcp_recv(pcb, NULL); /* lwIP's default then discards data and answers FIN */
  tcp_sent(pcb, NULL);
  tcp_err(pcb, NULL);
  tcp_poll(pcb, NULL, 0);
}

static void free_slot(net_conn *c) {
  if (c->rx) pbuf_free(c->rx);
  c->rx = NULL;
  c->avail = 0;
  c->pcb = NULL;
  c->cb = NULL;
  c->used = 0;
  c->pend = 0;
  c->gen++;
}

/* ---- lwIP callbacks: record only ---- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  net_conn *c = arg;
  (void)err; /* always ERR_OK in 2.1.3 */
  if (!c) {
    if (p) {
      tcp_recved(pcb, p->tot_len);
      pbuf_free(p);
    }
    return ERR_OK;
  }
  if (!p) {
    c->eof = 1;
    c->pend |= P_ENDED;
    return ERR_OK;
  }
  if (c->rx) {
    uint16_t n = pbuf_clen(c->rx);
    if (n >= RX_MERGE_PBUFS) {
      c->rx = pbuf_coalesce(c->rx, PBUF_RAW); /* unchanged when the heap has no room */
      n = pbuf_clen(c->rx);
    }
    if (n + pbuf_clen(p) > RX_MAX_PBUFS) return ERR_MEM; /* lwIP keeps p and offers it again */
    pbuf_cat(c->rx, p);
  } else {
    c->rx = p;
  }
  c->avail += p->tot_len;
  c->pend |= P_READABLE;
  return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  net_conn *c = arg;
  (void)pcb;
  (void)len;
  if (c) c->pend |= P_WRITABLE;
  return ERR_OK;
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb) {
  net_conn *c = arg;
  (void)pcb;
  if (c && c->write_blocked) c->pend |= P_WRITABLE;
  return ERR_OK;
}

static void on_err(void *arg, err_t err) {
  net_conn *c = arg; /* lwIP has already freed the pcb */
  if (!c) return;
  c->pcb = NULL;
  c->err = err;
  c->pend |= P_ERROR;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err) {
  net_listener *l = arg;
  if (err != ERR_OK || !pcb) return ERR_VAL;
  net_conn *c = NULL;
  for (int i = 0; i < NET_MAX_CONNS; i++) {
    if (!conns[i].used) {
      c = &conns[i];
      break;
    }
  }
  if (!c || !l || !l->used) {
    conns_refused++;
    tcp_abort(pcb);
    return ERR_ABRT;
  }
  conns_total++;
  c->used = 1;
  c->pcb = pcb;
  c->listener = l;
  c->cb = NULL;
  c->ctx = NULL;
  c->rx = NULL;
  c->avail = 0;
  c->err = 0;
  c->eof = 0;
  c->write_blocked = 0;
  c->pend = P_ACCEPT;
  tcp_backlog_accepted(pcb);
  tcp_arg(pcb, c);
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_err);
  tcp_poll(pcb, on_poll, POLL_INTERVAL);
  tcp_nagle_disable(pcb); /* interactive sessions: every keystroke echo goes out at once */
  ip_set_option(pcb, SOF_KEEPALIVE);
  pcb->keep_idle = KEEPALIVE_IDLE_MS;
  pcb->keep_intvl = KEEPALIVE_INTERVAL_MS;
  pcb->keep_cnt = KEEPALIVE_COUNT;
  return ERR_OK;
}

/* ---- application callbacks, from net_poll() ---- */

static int alive(const net_conn *c, uint32_t gen) {
  return c->used && c->gen == gen;
}

static void dispatch(void) {
  for (int i = 0; i < NET_MAX_CONNS; i++) {
    net_conn *c = &conns[i];
    if (!c->used || !c->pend) continue;
    uint32_t gen = c->gen;
    if (c->pend & P_ACCEPT) {
      c->pend &= (uint8_t)~P_ACCEPT;
      net_listener *l = c->listener;
      if (l && l->used && l->accept) {
        l->accept(l, c, l->ctx);
      } else {
        net_conn_abort(c);
      }
      if (!alive(c, gen)) continue;
    }
    if (c->pend & P_ERROR) {
      if (c->cb && c->cb->error) c->cb->error(c, c->ctx, c->err);
      if (alive(c, gen)) free_slot(c);
      continue;
    }
    if (!c->cb) continue; /* keep the events until callbacks are set */
    if ((c->pend & P_READABLE) && c->avail) {
      c->pend &= (uint8_t)~P_READABLE;
      if (c->cb->readable) c->cb->readable(c, c->ctx, c->avail);
      if (!alive(c, gen)) continue;
    }
    if (c->pend & P_ENDED) {
      c->pend &= (uint8_t)~P_ENDED;
      if (c->cb->ended) c->cb->ended(c, c->ctx);
      if (!alive(c, gen)) continue;
    }
    if (c->pend & P_WRITABLE) {
      c->pend &= (uint8_t)~P_WRITABLE;
      size_t space = net_conn_writable(c);
      if (space) {
        c->write_blocked = 0;
        if (c->cb->writable) c->cb->writable(c, c->ctx, space);
      }
    }
  }
}

/* ---- API ---- */

int net_init(const net_config *config) {
  ip4_addr_t ip, mask, gw;
  lwip_init();
  ip4_addr_set_u32(&ip, lwip_htonl(config->ip));
  ip4_addr_set_u32(&mask, lwip_htonl(config->netmask));
  ip4_addr_set_u32(&gw, lwip_htonl(config->gateway));
  if (!netif_add(&netif, &ip, &mask, &gw, NULL, virtio_net_netif_init, ethernet_input)) return ERR_IF;
  netif_set_default(&netif);
  netif_set_up(&netif);
  netif_set_link_up(&netif);
  return NET_OK;
}

int net_poll(void) {
  int frames = virtio_net_poll(&netif);
  sys_check_timeouts();
  dispatch();
  return frames;
}

net_listener *net_listen(uint16_t port, int backlog, net_accept_fn accept, void *ctx) {
  net_listener *l = NULL;
  for (int i = 0; i < NET_MAX_LISTENERS; i++) {
    if (!listeners[i].used) {
      l = &listeners[i];
      break;
    }
  }
  if (!l) return NULL;
  struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
  if (!pcb) return NULL;
  if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
    tcp_abort(pcb);
    return NULL;
  }
  err_t err;
  struct tcp_pcb *lpcb = tcp_listen_with_backlog_and_err(pcb, (u8_t)(backlog < 1 ? 1 : backlog > 255 ? 255 : backlog), &err);
  if (!lpcb) {
    tcp_abort(pcb);
    return NULL;
  }
  l->pcb = lpcb;
  l->accept = accept;
  l->ctx = ctx;
  l->used = 1;
  tcp_arg(lpcb, l);
  tcp_accept(lpcb, on_accept);
  return l;
}

void net_listener_close(net_listener *l) {
  if (!l || !l->used) return;
  tcp_arg(l->pcb, NULL);
  tcp_accept(l->pcb, NULL);
  tcp_close(l->pcb); /* never fails for a listening pcb */
  l->pcb = NULL;
  l->used = 0;
}

void net_conn_set_callbacks(net_conn *c, const net_conn_callbacks *cb, void *ctx) {
  c->cb = cb;
  c->ctx = ctx;
}

size_t net_conn_available(const net_conn *c) {
  return c->avail;
}

size_t net_conn_read(net_conn *c, void *dst, size_t max) {
  size_t n = max < c->avail ? max : c->avail;
  if (n == 0) return 0;
  if (n > 0xFFFF) n = 0xFFFF; /* pbuf lengths are 16-bit */
  pbuf_copy_partial(c->rx, dst, (u16_t)n, 0);
  c->rx = pbuf_free_header(c->rx, (u16_t)n);
  c->avail -= n;
  if (c->pcb) tcp_recved(c->pcb, (u16_t)n); /* the window re-opens as we consume */
  return n;
}

int net_conn_ended(const net_conn *c) {
  return c->eof && c->avail == 0;
}

size_t net_conn_writable(const net_conn *c) {
  if (!c->pcb) return 0;
  if (tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN) return 0;
  return tcp_sndbuf(c->pcb);
}

int net_conn_write(net_conn *c, const void *data, size_t len) {
  if (!c->pcb) return ERR_CONN;
  size_t n = net_conn_writable(c);
  if (len < n) n = len;
  if (n == 0) {
    if (len) c->write_blocked = 1;
    return 0;
  }
  err_t err = tcp_write(c->pcb, data, (u16_t)n, TCP_WRITE_FLAG_COPY);
  while (err == ERR_MEM && n > TCP_MSS) { /* heap tight: take less */
    n /= 2;
    err = tcp_write(c->pcb, data, (u16_t)n, TCP_WRITE_FLAG_COPY);
  }
  if (err == ERR_MEM) {
    c->write_blocked = 1; /* writable comes from the next ACK or the poll timer */
    return 0;
  }
  if (err != ERR_OK) return err;
  tcp_output(c->pcb);
  return (int)n;
}

void net_conn_close(net_conn *c) {
  if (!c || !c->used) return;
  struct tcp_pcb *pcb = c->pcb;
  if (pcb) {
    detach_pcb(pcb);
    /* lwIP answers a close with unread data by RST (RFC 1122 4.2.2.13); the data we drop is ours to
     * drop, so count it as read and let queued output leave with a FIN. */
    if (c->avail) tcp_recved(pcb, (u16_t)(c->avail > 0xFFFF ? 0xFFFF : c->avail));
    if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb); /* no memory for the FIN */
  }
  free_slot(c);
}

void net_conn_abort(net_conn *c) {
  if (!c || !c->used) return;
  if (c->pcb) {
    detach_pcb(c->pcb);
    tcp_abort(c->pcb);
  }
  free_slot(c);
}

void net_conn_remote(const net_conn *c, uint32_t *ip, uint16_t *port) {
  *ip = c->pcb ? lwip_ntohl(ip4_addr_get_u32(&c->pcb->remote_ip)) : 0;
  *port = c->pcb ? c->pcb->remote_port : 0;
}

void net_get_stats(net_stats *s) {
  memset(s, 0, sizeof *s);
  s->rx_frames = virtio_net_rx_frames;
  s->tx_frames = virtio_net_tx_frames;
  s->rx_dropped = virtio_net_rx_dropped;
  s->tx_dropped = virtio_net_tx_dropped;
  for (int i = 0; i < NET_MAX_CONNS; i++) s->conns_open += conns[i].used;
  s->conns_total = conns_total;
  s->conns_refused = conns_refused;
  s->mem_used = (uint32_t)lwip_stats.mem.used;
  s->mem_max = (uint32_t)lwip_stats.mem.max;
  s->mem_size = (uint32_t)lwip_stats.mem.avail;
  s->pool_used = lwip_stats.memp[MEMP_PBUF_POOL]->used;
  s->pool_max = lwip_stats.memp[MEMP_PBUF_POOL]->max;
  s->pool_size = lwip_stats.memp[MEMP_PBUF_POOL]->avail;
}
