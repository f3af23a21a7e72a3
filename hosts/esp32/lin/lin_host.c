/* Linux-only: the ESP32 host's C hooks on the Moddable SDK's Linux port (mcconfig -p lin,
 * hosts/esp32/lin/manifest.json). On a board these come from esp32_host.c and esp32_ota.c (ESP-IDF);
 * here:
 *
 *   native_random           getrandom(2), the kernel's CSPRNG (the board's is esp_fill_random)
 *   native_call_with_stack  calls the function on the caller's stack: a Linux thread's stack is
 *                           megabytes, ML-KEM's ~35 KB of frames fit (the board lends a heap block)
 *   xs_esp32_ota_*          no OTA slot on a computer: ota_info throws, so hosts/esp32/host.ts logs
 *                           "ota: not available" and serves without `ota`, as on a board whose
 *                           partition table has no OTA slots
 *   xs_esp32_wifi_ap_*      no access point: ap_start throws (the stand-in Wi-Fi, wifi.js, is always
 *                           online, so the provisioner never falls back to it)
 *   essh_lin_heap_report    prints the XS machine's heap figures (the launcher calls it on SIGUSR1
 *                           or when asked on stdin; hosts/esp32/lin/check.ts reads them) */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include "xsAll.h"
#include "native_crypto.h"

void native_random(void *buffer, size_t size)
{
	uint8_t *p = buffer;
	while (size > 0) {
		ssize_t n = getrandom(p, size, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			abort(); /* no entropy: never hand out predictable key material */
		}
		p += n;
		size -= (size_t)n;
	}
}

int native_call_with_stack(size_t bytes, void (*fn)(void *context), void *context)
{
	(void)bytes;
	fn(context);
	return 0;
}

void xs_esp32_ota_info(xsMachine *the)
{
	xsUnknownError("no OTA slots on the Linux port");
}

void xs_esp32_ota_mark_valid(xsMachine *the)
{
	(void)the;
}

void xs_esp32_ota_rollback(xsMachine *the)
{
	xsUnknownError("no OTA slots on the Linux port");
}

void xs_esp32_restart(xsMachine *the)
{
	(void)the;
	exit(0);
}

void xs_esp32_wifi_ap_start(xsMachine *the)
{
	xsUnknownError("no access point on the Linux port");
}

void xs_esp32_wifi_ap_stop(xsMachine *the)
{
	(void)the;
}

/* One line: "xs-heap chunks=<current>/<peak>/<maximum> slots=<current>/<peak>/<maximum>
 * live-chunks=<after a GC> live-slots=<after a GC> slot-bytes=<sizeof txSlot>
 * stack=<peak used slots>/<total slots> keys=<made at run time>". current and peak as XS counted them before
 * this call (current includes garbage not yet collected), then a full collection (the XS thread is
 * idle in GLib's loop when the launcher calls this) for the live figures. Slots and chunk bytes as
 * XS counts them (a slot is 32 bytes on 64-bit Linux, 16 on the ESP32). */
void essh_lin_heap_report(void *machine)
{
	txMachine *the = machine;
	long chunks = (long)the->currentChunksSize, slots = (long)the->currentHeapCount;
	long stackTotal = (long)(the->stackTop - the->stackBottom);
#ifdef mxInstrument
	long stackPeak = (long)(the->stackTop - the->stackPeak);
#else
	long stackPeak = -1;
#endif
	xsBeginHost(the);
	xsCollectGarbage();
	xsEndHost(the);
	printf("xs-heap chunks=%ld/%ld/%ld slots=%ld/%ld/%ld live-chunks=%ld live-slots=%ld slot-bytes=%d stack=%ld/%ld keys=%ld\n",
		chunks, (long)the->peakChunksSize, (long)the->maximumChunksSize,
		slots, (long)the->peakHeapCount, (long)the->maximumHeapCount,
		(long)the->currentChunksSize, (long)the->currentHeapCount,
		(int)sizeof(txSlot), stackPeak, stackTotal, (long)(the->keyIndex - the->keyOffset));
	fflush(stdout);
}
