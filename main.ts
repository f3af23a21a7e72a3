// Entry point: configuration -> the SSH console server on a host. Under node this starts the node
// host (hosts/node); the firmware builds (hosts/qemu, hosts/esp32) have entries of their own that
// wire the same modules/ core to their platform.

import { main } from "./hosts/node/cli.js";

main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`esp-ssh-console: ${e.message}\n`);
  process.exit(1);
});
