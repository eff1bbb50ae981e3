// shellWord (src/client/shell-word.ts): a word of a printed command that `sh` reads back as the
// same one argument, running nothing, for text a broker chose.
import { expect, test } from "bun:test";
import { shellWord } from "../../src/client/shell-word.ts";

const words = ["https://mesh.example.com", "http://127.0.0.1:7900/cm", "http://[::1]:7900", "x$(id)", "a;b", "it's", "''", "`id`", "a b", "=cmd", "~/x", "*", "", "a\\b"];

test("sh reads each word back as itself; plain URLs stay unquoted", async () => {
  const line = `printf '%s\\n' ${words.map(shellWord).join(" ")}`;
  const proc = Bun.spawn(["sh", "-c", line], { stdout: "pipe" });
  expect((await new Response(proc.stdout).text()).split("\n").slice(0, -1)).toEqual(words);
  expect(await proc.exited).toBe(0);
  expect(words.slice(0, 2).map(shellWord)).toEqual(words.slice(0, 2));
  expect(shellWord("http://[::1]:7900")).toBe("'http://[::1]:7900'");
});
