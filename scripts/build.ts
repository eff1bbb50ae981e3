// bun run build: compiles the one executable to dist/claudemesh. Migrations and the API
// reference UI are embedded (imports with { type: "text" } / { type: "file" }).
// --format=esm is required with --bytecode; the two --no-compile-autoload flags stop the binary
// from reading .env / bunfig.toml from whatever directory a user runs it in.
import { $ } from "bun";

const out = process.argv[2] ?? "dist/claudemesh";
const target = process.argv[3];
const flags = ["--compile", "--minify", "--bytecode", "--format=esm", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"];
if (target) flags.push(`--target=${target}`);
await $`bun build src/main.ts ${flags} --outfile ${out}`;
console.error(`built ${out}`);
