// Boot self-test linked into the firmware by default: plain JS, runs as a sloppy script.
// Exercises evaluation, a promise job, timers (one-shot with arguments, interval, cancelled),
// Date (goldfish RTC), Math.random and crypto.getRandomValues (the seeded DRBG).
// Prints "xs ok <n>" and lets the event loop run dry: the firmware then exits 0.

function check(ok, what) {
	if (!ok) throw new Error("self-test failed: " + what);
}

let sum = 0;
for (let i = 1; i <= 100; i++) sum += i * i; // 338350
check(sum === 338350, "arithmetic");
check(JSON.stringify({ a: [1, "x"] }) === '{"a":[1,"x"]}', "JSON");
check(Date.now() > Date.UTC(2020, 0, 1), "wall clock " + Date.now());
const r = Math.random();
check(r >= 0 && r < 1, "Math.random");
const bytes = crypto.getRandomValues(new Uint8Array(32));
check(bytes.some((b) => b !== 0), "getRandomValues");

const start = performance.now();
let order = [];
const never = setTimeout(() => check(false, "cleared timer fired"), 5);
clearTimeout(never);

Promise.resolve(sum)
	.then((v) => {
		order.push("promise");
		return new Promise((resolve) => setTimeout(resolve, 20, v + 1)); // timer with an argument
	})
	.then((v) => {
		order.push("timer");
		let ticks = 0;
		const id = setInterval(() => {
			if (++ticks < 3) return;
			clearInterval(id);
			const elapsed = performance.now() - start;
			check(elapsed >= 20, "timers too early: " + elapsed);
			check(order.join() === "promise,timer", "order " + order.join());
			print(`xs ok ${v + ticks}`); // 338354
			print(`elapsed ${elapsed.toFixed(1)} ms`);
		}, 2);
	});
