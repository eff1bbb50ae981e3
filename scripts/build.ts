// bun run build [OUT] [TARGET]: compiles the one executable to dist/claudemesh (or OUT), with the
// entrypoints and flags every release build uses (ENTRYPOINTS and BUILD_FLAGS in ./release.ts,
// which say why each is there).
// Migrations and the API reference UI are embedded (imports with { type: "text" } / { type: "file" }).
import { $ } from "bun";
import { BUILD_FLAGS, commitDefine, ENTRYPOINTS } from "./release.ts";

const out = process.argv[2] ?? "dist/claudemesh";
const target = process.argv[3];
const flags = [...BUILD_FLAGS, ...(await commitDefine()), ...(target ? [`--target=${target}`] : [])];
await $`bun build ${ENTRYPOINTS} ${flags} --outfile ${out}`;
console.error(`built ${out}`);
