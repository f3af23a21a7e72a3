/* The board's own access point beside the station (provisioning, hosts/esp32/network.ts binds these
 * with native()).
 *
 *   xs_esp32_wifi_ap_start(ssid, password) -> the access point's IPv4 address ("192.168.4.1")
 *       WPA2 (WPA/WPA2-PSK), channel 1 unless the station is associated (then the station's: one
 *       radio), 4 clients; mode WIFI_MODE_APSTA, so the station keeps working
 *   xs_esp32_wifi_ap_stop() -> back to WIFI_MODE_STA
 *
 * Why not the SDK's `wifi` module (WiFi.accessPoint, modules/network/wifi/esp32/xs6wifi.c): its
 * initWiFi creates the default station netif itself unless it initialised Wi-Fi first. With
 * ssid= in the build, setup/network has already initialised Wi-Fi through the ECMA-419 module
 * (embedded:network/interface/wifi), and a second esp_netif_create_default_wifi_sta() fails on the
 * duplicate "WIFI_STA_DEF" key and asserts. These hooks only add the AP interface to the Wi-Fi the
 * ECMA-419 module started (network.ts creates its WiFi object before calling them).
 *
 * Off the board (npm run check:esp32) ESP32_HOST_CHECK gives stand-in declarations of the ESP-IDF
 * API used (as declared by ESP-IDF v6.0's esp_wifi.h, esp_netif.h). */

#include <stdint.h>
#include <string.h>
#include "xsmc.h"

#ifdef ESP32_HOST_CHECK
typedef int esp_err_t;
#define ESP_OK 0
typedef enum { WIFI_MODE_NULL = 0, WIFI_MODE_STA, WIFI_MODE_AP, WIFI_MODE_APSTA } wifi_mode_t;
typedef enum { WIFI_IF_STA = 0, WIFI_IF_AP = 1 } wifi_interface_t;
typedef enum { WIFI_AUTH_OPEN = 0, WIFI_AUTH_WEP, WIFI_AUTH_WPA_PSK, WIFI_AUTH_WPA2_PSK, WIFI_AUTH_WPA_WPA2_PSK } wifi_auth_mode_t;
typedef struct {
	uint8_t ssid[32];
	uint8_t password[64];
	uint8_t ssid_len;
	uint8_t channel;
	wifi_auth_mode_t authmode;
	uint8_t ssid_hidden;
	uint8_t max_connection;
	uint16_t beacon_interval;
} wifi_ap_config_t;
typedef struct {
	uint8_t ssid[32];
	uint8_t bssid[6];
	uint8_t primary;
} wifi_ap_record_t;
typedef union {
	wifi_ap_config_t ap;
} wifi_config_t;
typedef struct esp_netif_obj esp_netif_t;
typedef struct { uint32_t addr; } esp_ip4_addr_t;
typedef struct { esp_ip4_addr_t ip, netmask, gw; } esp_netif_ip_info_t;
esp_err_t esp_wifi_get_mode(wifi_mode_t *mode);
esp_err_t esp_wifi_set_mode(wifi_mode_t mode);
esp_err_t esp_wifi_set_config(wifi_interface_t interface, wifi_config_t *conf);
esp_err_t esp_wifi_sta_get_ap_info(wifi_ap_record_t *ap_info);
esp_netif_t *esp_netif_get_handle_from_ifkey(const char *if_key);
esp_netif_t *esp_netif_create_default_wifi_ap(void);
esp_err_t esp_netif_get_ip_info(esp_netif_t *esp_netif, esp_netif_ip_info_t *ip_info);
char *esp_ip4addr_ntoa(const esp_ip4_addr_t *addr, char *buf, int buflen);
#else
#include "esp_wifi.h"
#include "esp_netif.h"
#endif

void xs_esp32_wifi_ap_start(xsMachine *the);
void xs_esp32_wifi_ap_stop(xsMachine *the);

/** The default AP netif (DHCP server on 192.168.4.1/24), made once. */
static esp_netif_t *ap_netif(void)
{
	esp_netif_t *netif = esp_netif_get_handle_from_ifkey("WIFI_AP_DEF");
	return netif ? netif : esp_netif_create_default_wifi_ap();
}

void xs_esp32_wifi_ap_start(xsMachine *the)
{
	wifi_config_t config;
	wifi_mode_t mode;
	wifi_ap_record_t station;
	esp_netif_ip_info_t info;
	char address[16];
	const char *ssid, *password;
	size_t ssid_len, password_len;

	if (xsmcArgc < 2)
		xsUnknownError("ap: ssid and password expected");
	ssid = xsmcToString(xsArg(0));
	ssid_len = strlen(ssid);
	if (ssid_len < 1 || ssid_len > sizeof(config.ap.ssid))
		xsRangeError("ap: ssid is 1 to 32 bytes");
	memset(&config, 0, sizeof(config));
	memcpy(config.ap.ssid, ssid, ssid_len);
	config.ap.ssid_len = (uint8_t)ssid_len;
	password = xsmcToString(xsArg(1));
	password_len = strlen(password);
	if (password_len < 8 || password_len > 63)
		xsRangeError("ap: WPA2 password is 8 to 63 characters");
	memcpy(config.ap.password, password, password_len);
	config.ap.authmode = WIFI_AUTH_WPA_WPA2_PSK;
	config.ap.max_connection = 4;
	config.ap.beacon_interval = 100;
	/* One radio: with the station associated the AP must share its channel. */
	config.ap.channel = (ESP_OK == esp_wifi_sta_get_ap_info(&station)) ? station.primary : 1;

	if (!ap_netif())
		xsUnknownError("ap: no netif");
	if (ESP_OK != esp_wifi_get_mode(&mode))
		xsUnknownError("ap: Wi-Fi not started");
	if (WIFI_MODE_APSTA != mode && ESP_OK != esp_wifi_set_mode(WIFI_MODE_APSTA))
		xsUnknownError("ap: esp_wifi_set_mode failed");
	if (ESP_OK != esp_wifi_set_config(WIFI_IF_AP, &config))
		xsUnknownError("ap: esp_wifi_set_config failed");
	if (ESP_OK != esp_netif_get_ip_info(ap_netif(), &info) || 0 == info.ip.addr)
		xsUnknownError("ap: no address");
	esp_ip4addr_ntoa(&info.ip, address, sizeof(address));
	xsmcSetString(xsResult, address);
}

void xs_esp32_wifi_ap_stop(xsMachine *the)
{
	wifi_mode_t mode;
	(void)the;
	if (ESP_OK == esp_wifi_get_mode(&mode) && WIFI_MODE_APSTA == mode)
		esp_wifi_set_mode(WIFI_MODE_STA);
}
