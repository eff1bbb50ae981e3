// The broker database's schema version this binary migrates to, for `claudemesh version --json`:
// the CLI may not read src/store itself (DESIGN.md §5), and this loads only the migrations' text.
export { LATEST_VERSION as SCHEMA_VERSION } from "../store/migrations.ts";
