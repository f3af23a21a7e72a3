/* The ESP32 platform's part of the native crypto hooks (modules/crypto/native_crypto.h): the
 * entropy source and the lent stack. ESP-IDF v6.0, Moddable SDK 8.2.3.
 *
 * native_random: esp_fill_random draws on the hardware RNG, which is a true random source while the
 * radio runs (Wi-Fi is up before main: setup/network joins the network first, and the host refuses
 * to start without Wi-Fi, see host.ts).
 *
 * native_call_with_stack: ML-KEM's ~35 KB of frames (native_mlkem.c) run on a stack taken from the
 * heap for the call through esp_execute_shared_stack_function, so the XS task's stack stays its
 * usual size. The function runs on the calling task (no context switch); it must not use
 * thread-local storage or the FPU, which libcrux's integer code does not.
 *
 * Off the board (npm run check:esp32) this file is compiled with ESP32_HOST_CHECK defined and
 * stand-in declarations of the ESP-IDF functions, so the prototypes it must match are still
 * checked. */

#include <stddef.h>
#include <stdlib.h>
#include "native_crypto.h"

#ifdef ESP32_HOST_CHECK
/* As declared by ESP-IDF's esp_random.h, freertos/semphr.h and esp_expression_with_stack.h. */
void esp_fill_random(void *buf, size_t len);
typedef void *SemaphoreHandle_t;
SemaphoreHandle_t xSemaphoreCreateMutex(void);
typedef void (*shared_stack_function)(void);
void esp_execute_shared_stack_function(SemaphoreHandle_t lock, void *stack, size_t stack_size, shared_stack_function function);
#else
#include "esp_random.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "esp_expression_with_stack.h"
#endif

void native_random(void *buffer, size_t size)
{
	esp_fill_random(buffer, size);
}

/* esp_execute_shared_stack_function calls a function without arguments: the call's function and
 * context wait here (one lent-stack call at a time: XS runs on one task, and the lock says so). */
static void (*lent_function)(void *context);
static void *lent_context;

static void lent_trampoline(void)
{
	lent_function(lent_context);
}

int native_call_with_stack(size_t bytes, void (*fn)(void *context), void *context)
{
	static SemaphoreHandle_t lock;
	void *stack;
	if (!lock)
		lock = xSemaphoreCreateMutex();
	if (!lock)
		return -1;
	stack = malloc(bytes);
	if (!stack)
		return -1;
	lent_function = fn;
	lent_context = context;
	esp_execute_shared_stack_function(lock, stack, bytes, lent_trampoline);
	lent_function = NULL;
	lent_context = NULL;
	free(stack);
	return 0;
}
