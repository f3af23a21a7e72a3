// Linux-only stand-in for embedded:network/interface/wifi (ECMA-419 network interface), which the
// SDK's Linux port lacks: the computer is always "connected, with an address", so
// hosts/esp32/network.ts goes straight to online and starts (stand-in) mDNS.
const HAS_ADDRESS = 500;

export default class WiFi {
	constructor(options) {
		void options;
	}
	get connection() {
		return HAS_ADDRESS;
	}
	get address() {
		return "127.0.0.1";
	}
	get SSID() {
		return "linux";
	}
	connect() {}
	close() {}
}
