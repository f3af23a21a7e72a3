/* lwIP 2.1.3 options for the QEMU firmware: no OS (NO_SYS), raw/callback API only, IPv4 + TCP over
 * one Ethernet interface (virtio-net), static address. Memory is sized like an ESP32 build: the
 * per-connection TCP buffers match Moddable's ESP32 defaults (TCP_SND_BUF = TCP_WND = 8192), and
 * every pool is static and bounded (see the figures beside each). */
#ifndef LWIPOPTS_H
#define LWIPOPTS_H

#include "net.h" /* NET_MAX_CONNS, NET_MAX_LISTENERS */

/* ---- system ---- */
#define NO_SYS 1                 /* polled from one event loop: no threads, no locks */
#define SYS_LIGHTWEIGHT_PROT 0   /* nothing runs in interrupts */
#define LWIP_TIMERS 1            /* sys_check_timeouts() from net_poll() */
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_NETIF_API 0

/* ---- memory ---- */
#define MEM_ALIGNMENT 4
/* The heap holds outgoing TCP segments (tcp_write copies into it), small received frames and ACKs.
 * 32 KiB: four full send buffers' worth; beyond that net_conn_write() takes less (backpressure). */
#define MEM_SIZE (32 * 1024)
/* Full-size received frames (one 1516-byte buffer each: MSS + headers). Queued, unread data of every
 * connection lives here, up to one window each. */
#define PBUF_POOL_SIZE (NET_MAX_CONNS * 6)
#define MEMP_NUM_PBUF 8                            /* PBUF_ROM/REF: unused by our code */
#define MEMP_NUM_TCP_PCB (NET_MAX_CONNS + 4)       /* + pcbs still closing (FIN_WAIT, TIME_WAIT) */
#define MEMP_NUM_TCP_PCB_LISTEN NET_MAX_LISTENERS
#define MEMP_NUM_TCP_SEG (NET_MAX_CONNS * 12)      /* ~TCP_SND_BUF / MSS segments queued per conn, x2 */
#define MEMP_NUM_ARP_QUEUE 4

/* ---- link, IP ---- */
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define ARP_TABLE_SIZE 4          /* the gateway (10.0.2.2) is the only peer under QEMU user net */
#define ARP_QUEUEING 0
#define LWIP_SINGLE_NETIF 1
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define IP_FORWARD 0
#define IP_REASSEMBLY 0           /* MTU 1500 both ways: nothing fragments */
#define IP_FRAG 0
#define LWIP_ICMP 1               /* answers ping */
#define LWIP_RAW 0
#define LWIP_UDP 0                /* no DHCP, no DNS: the address is static */
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0

/* ---- TCP ---- */
#define LWIP_TCP 1
#define TCP_MSS 1460
#define TCP_SND_BUF 8192          /* Moddable ESP32: write() "would block" beyond this */
#define TCP_WND 8192              /* Moddable ESP32; unread data holds the window shut (flow control) */
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + (TCP_MSS - 1)) / TCP_MSS)
#define TCP_OVERSIZE TCP_MSS      /* small writes fill the last queued segment */
#define TCP_QUEUE_OOSEQ 1
#define TCP_OOSEQ_MAX_PBUFS 4     /* out-of-order data held per connection, bounded */
#define TCP_OOSEQ_MAX_BYTES TCP_WND
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 2
#define LWIP_TCP_KEEPALIVE 1      /* net.c turns it on: a vanished client frees its slot */
#define LWIP_TCP_TIMESTAMPS 0
#define LWIP_WND_SCALE 0
#define LWIP_TCP_SACK_OUT 0
#define LWIP_CALLBACK_API 1
#define LWIP_EVENT_API 0

/* ---- checks, statistics ---- */
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_TCP 1
#define LWIP_CHECKSUM_ON_COPY 1   /* tcp_write computes the checksum while copying */
#define LWIP_STATS 1              /* only heap and pool figures, for net_get_stats() */
#define LWIP_STATS_DISPLAY 0
#define MEM_STATS 1
#define MEMP_STATS 1
#define LINK_STATS 0
#define ETHARP_STATS 0
#define IP_STATS 0
#define ICMP_STATS 0
#define TCP_STATS 0
#define SYS_STATS 0

#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_NETIF_HOSTNAME 0
#define LWIP_NUM_NETIF_CLIENT_DATA 0

#endif
