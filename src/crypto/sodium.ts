// libsodium, initialised once. Every other crypto/ module imports `sodium` from here, so no caller
// can use it before `ready` resolved (top-level await).
import lib from "libsodium-wrappers";

await lib.ready;

export const sodium = lib;
