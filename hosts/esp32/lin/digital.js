// Linux-only stand-in for embedded:io/digital: no GPIO on a computer. hosts/esp32/serial.ts uses it
// only to hold TX low for a break; it reports "break not supported here" when this throws.
export default class Digital {
	static Input = 0;
	static Output = 8;
	constructor(options) {
		void options;
		throw new Error("no GPIO on the Linux port");
	}
	read() {
		return 0;
	}
	write(value) {
		void value;
	}
	close() {}
}
