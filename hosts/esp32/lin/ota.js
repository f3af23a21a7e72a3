// Linux-only stand-in for the SDK's ESP32 ota module: a computer has no OTA partitions.
// hosts/esp32/lin/lin_host.c makes xs_esp32_ota_info throw first, so this is never constructed.
export default class OTA {
	constructor() {
		throw new Error("no OTA slots on the Linux port");
	}
	write() {}
	cancel() {}
	complete() {}
}
