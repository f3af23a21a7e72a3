// "embedded:io/digital" (modules/io/digital, ESP32): one GPIO pin. new Digital({pin, mode}) takes
// the pin (Error "in use" while a Serial or another Digital holds it); as an output it is driven with
// write(0 | 1). A pin that carries a UART's TX (routed by an earlier Serial) stops carrying the UART
// once a Digital takes it: holding it at 0 is a break on the line, which the test sees as
// {type: "uart-break"} events.

import { freePin, gpioOwned, isPinFree, report, toPin, uartTxPins, usePin } from "./board.js";


const INPUT = 0;
const INPUT_PULL_UP_DOWN = 3;
const OUTPUT = 8;
const OUTPUT_OPEN_DRAIN = 9;

export default class Digital {
  static readonly Input = INPUT;
  static readonly InputPullUp = 1;
  static readonly InputPullDown = 2;
  static readonly InputPullUpDown = INPUT_PULL_UP_DOWN;
  static readonly Output = OUTPUT;
  static readonly OutputOpenDrain = OUTPUT_OPEN_DRAIN;

  #pin: number | null;
  #mode: number;
  #level = 1;
  #breakStarted = 0;
  target: unknown;

  constructor(options: { pin: number; mode: number; target?: unknown }) {
    const pin = toPin(options.pin);
    const mode = Math.trunc(Number(options.mode));
    if (!((mode >= INPUT && mode <= INPUT_PULL_UP_DOWN) || mode === OUTPUT || mode === OUTPUT_OPEN_DRAIN)) throw new RangeError("invalid mode");
    if (!isPinFree(pin)) throw new Error("in use");
    if ((mode === OUTPUT || mode === OUTPUT_OPEN_DRAIN) && pin >= 34 && pin <= 39) throw new RangeError("invalid pin");
    if ("target" in options) this.target = options.target;
    usePin(pin);
    gpioOwned.add(pin);
    this.#pin = pin;
    this.#mode = mode;
  }

  #live(): number {
    if (this.#pin === null) throw new Error("closed");
    return this.#pin;
  }

  read(): number {
    this.#live();
    return this.#level;
  }

  write(value: number): void {
    const pin = this.#live();
    if (this.#mode !== OUTPUT && this.#mode !== OUTPUT_OPEN_DRAIN) throw new Error("can't write input");
    const level = value ? 1 : 0;
    if (level === this.#level) return;
    this.#level = level;
    const port = uartTxPins.get(pin);
    if (port === undefined) return;
    if (level === 0) {
      this.#breakStarted = Date.now();
      report({ type: "uart-break", port, on: true });
    } else this.#endBreak(port);
  }

  #endBreak(port: number): void {
    if (!this.#breakStarted) return;
    report({ type: "uart-break", port, on: false, ms: Date.now() - this.#breakStarted });
    this.#breakStarted = 0;
  }

  close(): void {
    const pin = this.#pin;
    if (pin === null) return;
    this.#pin = null;
    const port = uartTxPins.get(pin);
    if (port !== undefined) this.#endBreak(port);
    gpioOwned.delete(pin);
    freePin(pin);
  }
}
