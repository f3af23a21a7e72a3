// Globals the QEMU firmware's platform defines for JS (hosts/qemu/firmware/xs_platform.c), so that
// tsconfig.qemu.json can type-check the firmware entry without node's or the DOM's declarations.

declare function print(...values: unknown[]): void;
declare function setTimeout(callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number;
declare function setInterval(callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number;
declare function clearTimeout(id: number | undefined): void;
declare function clearInterval(id: number | undefined): void;
declare const performance: { now(): number };
declare const console: { log(...values: unknown[]): void; error(...values: unknown[]): void };
