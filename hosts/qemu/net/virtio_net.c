/* Polled virtio-net over virtio-mmio, written from the virtio 1.1 specification (sections 2.6 split
 * virtqueues, 4.2 virtio over MMIO incl. 4.2.4 legacy interface, 5.1 network device).
 *
 * Two split virtqueues, receive (0) and transmit (1). Every descriptor owns one fixed 1536-byte buffer
 * (the virtio-net header + one Ethernet frame); no chaining, no offloads, no interrupts:
 *  - receive: the device fills posted buffers; virtio_net_poll() copies each frame into a pbuf
 *    (small frames into exact-size heap pbufs, full ones into PBUF_POOL), hands it to lwIP and
 *    reposts the buffer at once.
 *  - transmit: linkoutput copies the pbuf chain into a free buffer and notifies the device; used
 *    buffers are reclaimed lazily.
 * Memory shared with the device is ordered with fences (QEMU's device runs on another host thread).
 */
#include "virtio_net.h"

#include <string.h>

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "netif/ethernet.h"

/* ---- virtio-mmio transport (spec 4.2.2) ---- */
#define MMIO_FIRST 0x10001000u /* QEMU virt: 8 transports, 0x1000 apart */
#define MMIO_STRIDE 0x1000u
#define MMIO_SLOTS 8

#define R_MAGIC 0x000 /* "virt" */
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_GUEST_PAGE_SIZE 0x028 /* legacy */
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_ALIGN 0x03c /* legacy */
#define R_QUEUE_PFN 0x040   /* legacy */
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LOW 0x080
#define R_QUEUE_DESC_HIGH 0x084
#define R_QUEUE_DRIVER_LOW 0x090
#define R_QUEUE_DRIVER_HIGH 0x094
#define R_QUEUE_DEVICE_LOW 0x0a0
#define R_QUEUE_DEVICE_HIGH 0x0a4
#define R_CONFIG 0x100

#define MAGIC 0x74726976u
#define DEVICE_NET 1u

#define S_ACKNOWLEDGE 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_FAILED 128u

#define F_NET_MAC 5u      /* config holds the MAC */
#define F_VERSION_1 32u   /* modern device; required on version 2 transports */

/* ---- split virtqueue layout (spec 2.6) ---- */
struct vq_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
#define DESC_F_WRITE 2u    /* device writes this buffer */
#define AVAIL_F_NO_INTERRUPT 1u
#define USED_F_NO_NOTIFY 1u

struct vq_used_elem {
  uint32_t id;
  uint32_t len;
};

/* Legacy transports place the used ring at QUEUE_ALIGN after the avail ring, inside one region the
 * device finds through its page number. We use that layout for both transports. */
#define PAGE 4096u
#define QUEUE_ALIGN 64u
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((a)-1))
#define AVAIL_OFF(n) ((n)*16u)
#define USED_OFF(n) ALIGN_UP(AVAIL_OFF(n) + 6u + 2u * (n), QUEUE_ALIGN)
#define RING_BYTES(n) ALIGN_UP(USED_OFF(n) + 6u + 8u * (n), QUEUE_ALIGN)

#define BUF_SIZE 1536u /* header (10 or 12) + 1514-byte frame (+4 for a VLAN tag) */

struct vq {
  uint16_t num;
  uint16_t avail_idx;  /* our copy of avail->idx */
  uint16_t used_seen;  /* used entries consumed so far */
  volatile struct vq_desc *desc;
  volatile uint16_t *avail; /* [0] flags, [1] idx, [2..] ring */
  volatile uint16_t *used;  /* [0] flags, [1] idx, then used_elem[num] at byte 4 */
  uint8_t (*buf)[BUF_SIZE];
};

/* Rings first (page-aligned, as legacy transports need), buffers right after them. */
static struct {
  uint8_t ring[RING_BYTES(VIRTIO_NET_RX_BUFS)];
  uint8_t buf[VIRTIO_NET_RX_BUFS][BUF_SIZE];
} rx_mem __attribute__((aligned(PAGE)));
static struct {
  uint8_t ring[RING_BYTES(VIRTIO_NET_TX_BUFS)];
  uint8_t buf[VIRTIO_NET_TX_BUFS][BUF_SIZE];
} tx_mem __attribute__((aligned(PAGE)));

static struct vq rxq, txq;
static uint16_t tx_free[VIRTIO_NET_TX_BUFS]; /* stack of free transmit descriptors */
static uint16_t tx_nfree;
static uint32_t hdr_len; /* 10 legacy, 12 modern (num_buffers is always present with VERSION_1) */
static int legacy;

int virtio_net_version;

uintptr_t virtio_net_base;
uint32_t virtio_net_rx_dropped, virtio_net_tx_dropped, virtio_net_rx_frames, virtio_net_tx_frames;

/* Frames up to this size are copied into exact-size heap pbufs rather than a 1516-byte pool buffer:
 * ACKs and keystrokes must not use up the pool that holds bulk data. */
#define COPY_TO_HEAP_MAX 256u

static inline uint32_t rd(uint32_t off) {
  return *(volatile uint32_t *)(virtio_net_base + off);
}
static inline void wr(uint32_t off, uint32_t v) {
  *(volatile uint32_t *)(virtio_net_base + off) = v;
}
static inline void fence(void) {
  __sync_synchronize();
}

static inline volatile struct vq_used_elem *used_elem(struct vq *q, uint16_t i) {
  return (volatile struct vq_used_elem *)((uintptr_t)q->used + 4u) + (i & (q->num - 1u));
}

static uintptr_t probe(void) {
  for (uint32_t i = 0; i < MMIO_SLOTS; i++) {
    uintptr_t base = MMIO_FIRST + i * MMIO_STRIDE;
    volatile uint32_t *r = (volatile uint32_t *)base;
    if (r[R_MAGIC / 4] == MAGIC && r[R_DEVICE_ID / 4] == DEVICE_NET) return base;
  }
  return 0;
}

/** Sets up queue `index` over `ring` (RING_BYTES(num) bytes, page-aligned). */
static int queue_init(struct vq *q, uint32_t index, uint16_t num, uint8_t *ring, uint8_t (*buf)[BUF_SIZE]) {
  wr(R_QUEUE_SEL, index);
  uint32_t max = rd(R_QUEUE_NUM_MAX);
  if (max == 0 || max < num) return -1;
  if (!legacy && rd(R_QUEUE_READY) != 0) return -1;
  memset(ring, 0, RING_BYTES(num));
  q->num = num;
  q->avail_idx = 0;
  q->used_seen = 0;
  q->desc = (volatile struct vq_desc *)ring;
  q->avail = (volatile uint16_t *)(ring + AVAIL_OFF(num));
  q->used = (volatile uint16_t *)(ring + USED_OFF(num));
  q->buf = buf;
  q->avail[0] = AVAIL_F_NO_INTERRUPT; /* we poll */
  for (uint16_t i = 0; i < num; i++) {
    q->desc[i].addr = (uint64_t)(uintptr_t)buf[i];
    q->desc[i].len = BUF_SIZE;
    q->desc[i].flags = 0;
    q->desc[i].next = 0;
  }
  wr(R_QUEUE_NUM, num);
  if (legacy) {
    wr(R_QUEUE_ALIGN, QUEUE_ALIGN);
    wr(R_QUEUE_PFN, (uint32_t)((uintptr_t)ring / PAGE));
  } else {
    wr(R_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)q->desc);
    wr(R_QUEUE_DESC_HIGH, 0);
    wr(R_QUEUE_DRIVER_LOW, (uint32_t)(uintptr_t)q->avail);
    wr(R_QUEUE_DRIVER_HIGH, 0);
    wr(R_QUEUE_DEVICE_LOW, (uint32_t)(uintptr_t)q->used);
    wr(R_QUEUE_DEVICE_HIGH, 0);
    wr(R_QUEUE_READY, 1);
  }
  return 0;
}

static void notify(struct vq *q, uint32_t index) {
  fence();
  if (!(q->used[0] & USED_F_NO_NOTIFY)) wr(R_QUEUE_NOTIFY, index);
}

/** Makes descriptor `id` available to the device (published by the caller's avail idx store). */
static inline void post(struct vq *q, uint16_t id) {
  q->avail[2u + (q->avail_idx & (q->num - 1u))] = id;
  q->avail_idx++;
}

static inline void publish(struct vq *q) {
  fence(); /* descriptors and ring entries before the index */
  q->avail[1] = q->avail_idx;
}

/** Returns transmit buffers the device has finished with to the free stack. */
static void tx_reclaim(void) {
  fence();
  uint16_t used_idx = txq.used[1];
  fence();
  while (txq.used_seen != used_idx) {
    tx_free[tx_nfree++] = (uint16_t)used_elem(&txq, txq.used_seen)->id;
    txq.used_seen++;
  }
}

/** Longest wait for a transmit buffer before a frame is dropped (TCP resends it). */
#define TX_WAIT_MS 20u

static err_t linkoutput(struct netif *netif, struct pbuf *p) {
  (void)netif;
  tx_reclaim();
  if (tx_nfree == 0) {
    uint32_t start = sys_now();
    wr(R_QUEUE_NOTIFY, 1); /* in case the device is waiting for a kick */
    while (tx_nfree == 0 && sys_now() - start < TX_WAIT_MS) tx_reclaim();
    if (tx_nfree == 0) {
      virtio_net_tx_dropped++;
      return ERR_MEM;
    }
  }
  if (p->tot_len > BUF_SIZE - hdr_len) return ERR_BUF;
  uint16_t id = tx_free[--tx_nfree];
  uint8_t *b = txq.buf[id];
  memset(b, 0, hdr_len); /* no checksum offload, no GSO */
  pbuf_copy_partial(p, b + hdr_len, p->tot_len, 0);
  txq.desc[id].len = hdr_len + p->tot_len;
  txq.desc[id].flags = 0;
  post(&txq, id);
  publish(&txq);
  notify(&txq, 1);
  virtio_net_tx_frames++;
  return ERR_OK;
}

int virtio_net_poll(struct netif *netif) {
  int frames = 0;
  fence();
  uint16_t used_idx = rxq.used[1];
  fence(); /* the index before the entries and buffers it covers */
  while (rxq.used_seen != used_idx) {
    volatile struct vq_used_elem *e = used_elem(&rxq, rxq.used_seen);
    uint16_t id = (uint16_t)e->id;
    uint32_t len = e->len;
    rxq.used_seen++;
    if (id < rxq.num && len > hdr_len && len <= BUF_SIZE) {
      uint16_t flen = (uint16_t)(len - hdr_len);
      struct pbuf *p = pbuf_alloc(PBUF_RAW, flen, flen <= COPY_TO_HEAP_MAX ? PBUF_RAM : PBUF_POOL);
      if (p) {
        pbuf_take(p, rxq.buf[id] + hdr_len, flen);
        virtio_net_rx_frames++;
        if (netif->input(p, netif) != ERR_OK) pbuf_free(p);
      } else {
        virtio_net_rx_dropped++;
      }
    }
    if (id < rxq.num) {
      rxq.desc[id].len = BUF_SIZE;
      rxq.desc[id].flags = DESC_F_WRITE;
      post(&rxq, id);
    }
    frames++;
    if (rxq.used_seen == used_idx) { /* caught up: look again before leaving */
      publish(&rxq);
      fence();
      used_idx = rxq.used[1];
      fence();
    }
  }
  if (frames) notify(&rxq, 0);
  tx_reclaim();
  if (frames) {
    /* interrupts are not enabled at the PLIC; acknowledge anyway so the line does not stay raised */
    uint32_t isr = rd(R_INTERRUPT_STATUS);
    if (isr) wr(R_INTERRUPT_ACK, isr);
  }
  return frames;
}

err_t virtio_net_netif_init(struct netif *netif) {
  virtio_net_base = probe();
  if (!virtio_net_base) return ERR_IF;
  uint32_t version = rd(R_VERSION);
  if (version != 1 && version != 2) return ERR_IF;
  legacy = version == 1;
  virtio_net_version = (int)version;
  hdr_len = legacy ? 10u : 12u;

  wr(R_STATUS, 0); /* reset */
  while (rd(R_STATUS) != 0) {
  }
  wr(R_STATUS, S_ACKNOWLEDGE);
  wr(R_STATUS, S_ACKNOWLEDGE | S_DRIVER);

  wr(R_DEVICE_FEATURES_SEL, 0);
  uint32_t f0 = rd(R_DEVICE_FEATURES);
  wr(R_DEVICE_FEATURES_SEL, 1);
  uint32_t f1 = rd(R_DEVICE_FEATURES);
  uint32_t want0 = f0 & (1u << F_NET_MAC);
  uint32_t want1 = legacy ? 0 : (f1 & (1u << (F_VERSION_1 - 32)));
  if (!legacy && !want1) goto fail;
  wr(R_DRIVER_FEATURES_SEL, 0);
  wr(R_DRIVER_FEATURES, want0);
  wr(R_DRIVER_FEATURES_SEL, 1);
  wr(R_DRIVER_FEATURES, want1);
  if (!legacy) {
    wr(R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
    if (!(rd(R_STATUS) & S_FEATURES_OK)) goto fail;
  } else {
    wr(R_GUEST_PAGE_SIZE, PAGE);
  }

  if (queue_init(&rxq, 0, VIRTIO_NET_RX_BUFS, rx_mem.ring, rx_mem.buf) != 0) goto fail;
  if (queue_init(&txq, 1, VIRTIO_NET_TX_BUFS, tx_mem.ring, tx_mem.buf) != 0) goto fail;
  for (uint16_t i = 0; i < VIRTIO_NET_RX_BUFS; i++) {
    rxq.desc[i].flags = DESC_F_WRITE;
    post(&rxq, i);
  }
  publish(&rxq);
  tx_nfree = 0;
  for (uint16_t i = 0; i < VIRTIO_NET_TX_BUFS; i++) tx_free[tx_nfree++] = (uint16_t)(VIRTIO_NET_TX_BUFS - 1 - i);

  /* MAC from the config space when offered; otherwise a locally administered one. */
  static const uint8_t fallback_mac[6] = {0x02, 0x00, 0x00, 0x12, 0x34, 0x56};
  for (int i = 0; i < 6; i++) {
    netif->hwaddr[i] = (want0 & (1u << F_NET_MAC)) ? *(volatile uint8_t *)(virtio_net_base + R_CONFIG + i) : fallback_mac[i];
  }
  netif->hwaddr_len = 6;
  netif->mtu = 1500;
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  netif->name[0] = 'v';
  netif->name[1] = 'n';
  netif->output = etharp_output;
  netif->linkoutput = linkoutput;

  wr(R_STATUS, rd(R_STATUS) | S_DRIVER_OK);
  notify(&rxq, 0);
  return ERR_OK;

fail:
  wr(R_STATUS, rd(R_STATUS) | S_FAILED);
  virtio_net_base = 0;
  return ERR_IF;
}
