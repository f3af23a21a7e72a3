/* ESP-IDF's app rollback state, where Moddable's OTA module (which writes the passive slot and
 * switches the boot partition) has no API: hosts/esp32/ota.ts binds these with native().
 *
 *   xs_esp32_ota_info()       -> { running, runningVersion, chipId, trial, next, nextSize, nextVersion }
 *                                running/next: partition labels ("ota_0", "ota_1"); trial: the
 *                                running app is ESP_OTA_IMG_PENDING_VERIFY (first boot after an
 *                                update, rollback armed); chipId: the running image header's
 *                                chip id (esp_image_header_t); nextVersion: the passive slot's app
 *                                description, or undefined when it holds no valid app
 *   xs_esp32_ota_mark_valid() -> esp_ota_mark_app_valid_cancel_rollback()
 *   xs_esp32_ota_rollback()   -> esp_ota_mark_app_invalid_rollback_and_reboot() (returns only if
 *                                there is nothing to roll back to: then it throws)
 *   xs_esp32_restart()        -> esp_restart()
 *
 * Needs CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (hosts/esp32/sdkconfig/sdkconfig.defaults) and a
 * partition table with otadata and two OTA slots (hosts/esp32/partitions.csv). Off the board
 * (npm run check:esp32) ESP32_HOST_CHECK gives stand-in declarations of the ESP-IDF API used. */

#include <stdint.h>
#include <string.h>
#include "xsmc.h"

#ifdef ESP32_HOST_CHECK
/* As declared by ESP-IDF v6.0's esp_partition.h, esp_app_desc.h and esp_ota_ops.h. */
typedef int esp_err_t;
#define ESP_OK 0
typedef struct {
	void *flash_chip;
	int type, subtype;
	uint32_t address, size, erase_size;
	char label[17];
	int encrypted, readonly;
} esp_partition_t;
typedef struct {
	uint32_t magic_word, secure_version, reserv1[2];
	char version[32], project_name[32], time[16], date[16], idf_ver[32];
	uint8_t app_elf_sha256[32];
	uint32_t reserv2[20];
} esp_app_desc_t;
typedef enum {
	ESP_OTA_IMG_NEW = 0x0U,
	ESP_OTA_IMG_PENDING_VERIFY = 0x1U,
	ESP_OTA_IMG_VALID = 0x2U,
	ESP_OTA_IMG_INVALID = 0x3U,
	ESP_OTA_IMG_ABORTED = 0x4U,
	ESP_OTA_IMG_UNDEFINED = 0xFFFFFFFFU,
} esp_ota_img_states_t;
const esp_partition_t *esp_ota_get_running_partition(void);
const esp_partition_t *esp_ota_get_next_update_partition(const esp_partition_t *start_from);
esp_err_t esp_ota_get_state_partition(const esp_partition_t *partition, esp_ota_img_states_t *ota_state);
esp_err_t esp_ota_get_partition_description(const esp_partition_t *partition, esp_app_desc_t *app_desc);
const esp_app_desc_t *esp_app_get_description(void);
esp_err_t esp_ota_mark_app_valid_cancel_rollback(void);
esp_err_t esp_partition_read(const esp_partition_t *partition, size_t src_offset, void *dst, size_t size);
esp_err_t esp_ota_mark_app_invalid_rollback_and_reboot(void);
void esp_restart(void);
#else
#include "esp_ota_ops.h"
#include "esp_app_desc.h"
#include "esp_system.h"
#include "esp_partition.h"
#endif

void xs_esp32_ota_info(xsMachine *the);
void xs_esp32_ota_mark_valid(xsMachine *the);
void xs_esp32_ota_rollback(xsMachine *the);
void xs_esp32_restart(xsMachine *the);

static void set_string(xsMachine *the, const char *name, const char *value, size_t max)
{
	char text[33];
	size_t n = strnlen(value, max < 32 ? max : 32);
	memcpy(text, value, n);
	text[n] = 0;
	xsmcSetString(xsVar(1), text);
	xsmcSet(xsVar(0), xsID(name), xsVar(1));
}

void xs_esp32_ota_info(xsMachine *the)
{
	const esp_partition_t *running = esp_ota_get_running_partition();
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	esp_ota_img_states_t state = ESP_OTA_IMG_UNDEFINED;
	esp_app_desc_t desc;
	xsmcVars(2);
	xsmcSetNewObject(xsVar(0));
	if (running) {
		set_string(the, "running", running->label, sizeof running->label);
		if (esp_ota_get_state_partition(running, &state) != ESP_OK)
			state = ESP_OTA_IMG_UNDEFINED;
		uint8_t header[24];
		if (esp_partition_read(running, 0, header, sizeof header) == ESP_OK) {
			xsmcSetInteger(xsVar(1), header[12] | (header[13] << 8));
			xsmcSet(xsVar(0), xsID("chipId"), xsVar(1));
		}
	}
	set_string(the, "runningVersion", esp_app_get_description()->version, sizeof desc.version);
	xsmcSetBoolean(xsVar(1), state == ESP_OTA_IMG_PENDING_VERIFY);
	xsmcSet(xsVar(0), xsID("trial"), xsVar(1));
	if (next) {
		set_string(the, "next", next->label, sizeof next->label);
		xsmcSetInteger(xsVar(1), (xsIntegerValue)next->size);
		xsmcSet(xsVar(0), xsID("nextSize"), xsVar(1));
		if (esp_ota_get_partition_description(next, &desc) == ESP_OK)
			set_string(the, "nextVersion", desc.version, sizeof desc.version);
	}
	xsResult = xsVar(0);
}

void xs_esp32_ota_mark_valid(xsMachine *the)
{
	if (esp_ota_mark_app_valid_cancel_rollback() != ESP_OK)
		xsUnknownError("ota: mark valid failed");
}

void xs_esp32_ota_rollback(xsMachine *the)
{
	esp_ota_mark_app_invalid_rollback_and_reboot();
	xsUnknownError("ota: no image to roll back to");
}

void xs_esp32_restart(xsMachine *the)
{
	(void)the;
	esp_restart();
}
