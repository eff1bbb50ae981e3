// bun run build [OUT] [TARGET]: compiles the one executable to dist/claudemesh (or OUT), with the
// flags every release build uses (BUILD_FLAGS in ./release.ts, which says why each is there).
// Migrations and the API reference UI are embedded (imports with { type: "text" } / { type: "file" }).
import { $ } from "bun";
import { BUILD_FLAGS } from "./release.ts";

const out = process.argv[2] ?? "dist/claudemesh";
const target = process.argv[3];
const flags = [...BUILD_FLAGS, ...(target ? [`--target=${target}`] : [])];
await $`bun build src/main.ts ${flags} --outfile ${out}`;
console.error(`built ${out}`);
