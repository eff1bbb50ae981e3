// mergeMeshKeys (src/client/local/config-file.ts): the one way key lists are combined, by the
// session receiving a `keys` message, the CLI and the MCP server saving keys to a config file that
// another process may have written meanwhile.
import { expect, test } from "bun:test";
import { mergeMeshKeys } from "../../src/client/local/config-file.ts";

const k = (epoch: number, key = `key-${epoch}`) => ({ epoch, key });

test("adds only the epochs not held, sorted; an epoch already held keeps its key; nothing new is null", () => {
  expect(mergeMeshKeys([k(0), k(2)], [k(1), k(2, "other"), k(3)])).toEqual([k(0), k(1), k(2), k(3)]);
  expect(mergeMeshKeys([k(0), k(1)], [k(1, "other"), k(0)])).toBeNull();
  expect(mergeMeshKeys([], [k(1), k(1, "twice")])).toEqual([k(1)]);
});
