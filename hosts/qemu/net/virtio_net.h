/* Polled virtio-net driver over virtio-mmio (QEMU virt), as an lwIP netif. Legacy (version 1, QEMU's
 * default for virtio-mmio) and modern (version 2, `-global virtio-mmio.force-legacy=false`) transports.
 * No interrupts: virtio_net_poll() drains the receive ring and reclaims sent buffers. */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdint.h>

#include "lwip/netif.h"

/** Ring sizes (powers of two). Each buffer holds one frame: 1536 bytes. */
#ifndef VIRTIO_NET_RX_BUFS
#define VIRTIO_NET_RX_BUFS 16
#endif
#ifndef VIRTIO_NET_TX_BUFS
#define VIRTIO_NET_TX_BUFS 8
#endif

/** The probed device's transport base, or 0 before a successful netif init. */
extern uintptr_t virtio_net_base;
/** Its transport: 1 legacy, 2 modern. */
extern int virtio_net_version;
/** Frames dropped: no pbuf for a received frame / no transmit buffer within the wait. */
extern uint32_t virtio_net_rx_dropped, virtio_net_tx_dropped, virtio_net_rx_frames, virtio_net_tx_frames;

/** netif_add() init function: probes the virtio-mmio slots for a network device (id 1), resets and
 * configures it, sets the MAC. ERR_IF when there is none. */
err_t virtio_net_netif_init(struct netif *netif);

/** Feeds received frames to netif->input and refills the ring; returns how many frames. */
int virtio_net_poll(struct netif *netif);

#endif
