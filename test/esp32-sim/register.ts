// `node --import tsx --import ./test/esp32-sim/register.ts ...`: installs the resolve hook of
// hooks.ts (after tsx's, so it runs first and tsx still loads the .ts files it points at).

import { register } from "node:module";

register("./hooks.ts", import.meta.url);
