// The profiling SSH image's entry (hosts/qemu/profile.ts): the wrappers first, then the firmware's
// program, unchanged.
import "./profile.js";
import "./main.js";
