// The version baked into the binary (from package.json at build time; release builds may
// override it with --define CLAUDEMESH_VERSION).
import pkg from "../package.json" with { type: "json" };

declare const CLAUDEMESH_VERSION: string | undefined;

export const VERSION: string = typeof CLAUDEMESH_VERSION === "string" ? CLAUDEMESH_VERSION : pkg.version;
