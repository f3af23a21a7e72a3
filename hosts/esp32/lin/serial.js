// Linux-only stand-in for embedded:io/serial (the SDK's Linux port has none): a simulated device on
// the far end of the UART that echoes every byte it receives, with the board's limits: a 128-byte
// transmit FIFO (write throws "output full" beyond the room last reported by onWritable), a
// 128-byte receive FIFO per onReadable, 8N1. hosts/esp32/serial.ts drives it as it drives the
// ESP32 UART, so `ssh console@...` lands on this echo device.
import Timer from "timer";

const FIFO = 128;
/** Bytes the simulated line holds (sent, not yet echoed back and read). */
const LINE = 4096;

export default class Serial {
	#onReadable;
	#onWritable;
	#line;
	#head = 0;
	#count = 0;
	#timer = null;
	#room = FIFO;
	constructor(options) {
		this.#onReadable = options.onReadable;
		this.#onWritable = options.onWritable;
		this.#line = new Uint8Array(LINE);
		this.#schedule();
	}
	write(bytes) {
		const view = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
		if (view.length > this.#room || this.#count + view.length > LINE)
			throw new Error("output full");
		for (let i = 0; i < view.length; i++)
			this.#line[(this.#head + this.#count + i) % LINE] = view[i];
		this.#count += view.length;
		this.#room -= view.length;
		this.#schedule();
	}
	read(buffer) {
		const n = Math.min(buffer.byteLength, this.#count, FIFO);
		const out = ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
		for (let i = 0; i < n; i++)
			out[i] = this.#line[(this.#head + i) % LINE];
		this.#head = (this.#head + n) % LINE;
		this.#count -= n;
		return n;
	}
	close() {
		if (this.#timer)
			Timer.clear(this.#timer);
		this.#timer = null;
		this.#onReadable = this.#onWritable = undefined;
	}
	#schedule() {
		if (this.#timer)
			return;
		this.#timer = Timer.set(() => {
			this.#timer = null;
			if (this.#count > 0)
				this.#onReadable?.(Math.min(this.#count, FIFO));
			if (this.#count + FIFO <= LINE) {
				this.#room = FIFO;
				this.#onWritable?.(FIFO);
			}
			if (this.#count > 0)
				this.#schedule();
		}, 1);
	}
}
