/* The ESP32 platform's part of the native crypto hooks (modules/crypto/native_crypto.h): the
 * entropy source. esp_fill_random draws on the hardware RNG, which is a true random source while
 * the radio runs (Wi-Fi is up before main: setup/network joins the network first, and the host
 * refuses to start without Wi-Fi, see host.ts). ESP-IDF v6.0, Moddable SDK 8.2.3.
 *
 * Off the board (npm run check:esp32) this file is compiled with ESP32_HOST_CHECK defined and a
 * stand-in declaration of esp_fill_random, so the prototype it must match is still checked. */

#include <stddef.h>
#include "native_crypto.h"

#ifdef ESP32_HOST_CHECK
void esp_fill_random(void *buf, size_t len); /* as declared by ESP-IDF's esp_random.h */
#else
#include "esp_random.h"
#endif

void native_random(void *buffer, size_t size)
{
	esp_fill_random(buffer, size);
}
