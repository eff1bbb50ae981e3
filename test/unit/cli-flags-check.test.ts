// How a command's words are checked before citty reads them (src/cli/flags-check.ts): a switch
// takes no value but =true or =false (citty read `--yes=no` as yes), a short option takes no "="
// (citty read `-p=now` as the value "=now"), and in a group of short options the letter no option
// has is the one named.
import { describe, expect, test } from "bun:test";
import type { ArgsDef } from "citty";
import { refuseStrayWords } from "../../src/cli/flags-check.ts";

const args = {
  slug: { type: "positional", required: false },
  yes: { type: "boolean", alias: "y" },
  all: { type: "boolean", alias: "a" },
  priority: { type: "string", alias: "p" },
  mesh: { type: "string", alias: "m" },
} satisfies ArgsDef;

/** What refuseStrayWords says of `words`: null when it lets them through, else its message and
 *  whether the refused word may be text meant to follow "--". */
function refusal(words: string[]): { message: string; mayBeText: boolean } | null {
  try {
    refuseStrayWords(words, args);
    return null;
  } catch (err) {
    const e = err as Error & { mayBeText: boolean };
    return { message: e.message, mayBeText: e.mayBeText };
  }
}

const SHORTS = "this command's short options are -y (--yes), -a (--all), -p (--priority), -m (--mesh)";

describe("refuseStrayWords", () => {
  test.each([
    [["--yes=no"], '--yes is a switch and takes no value ("--yes=no"): give --yes alone, or leave it out'],
    [["--yes=0"], '--yes is a switch and takes no value ("--yes=0"): give --yes alone, or leave it out'],
    [["--yes="], '--yes is a switch and takes no value ("--yes="): give --yes alone, or leave it out'],
    [["--yes=False"], '--yes is a switch and takes no value ("--yes=False"): give --yes alone, or leave it out'],
    [["--no-yes=false"], '--no-yes is a switch and takes no value ("--no-yes=false"): give --no-yes alone, or leave it out'],
    [["-y=no"], '-y is a switch and takes no value ("-y=no"): give -y alone, or leave it out'],
    [["-ay=1"], '-y is a switch and takes no value ("-ay=1"): give -y alone, or leave it out'],
    [["-p=now"], '-p takes its value after a space, not after "=" ("-p=now"): give -p now, or --priority=now'],
    [["-m="], '-m takes its value after a space, not after "=" ("-m="): give -m <value>, or --mesh=<value>'],
  ])("%j is an option given wrongly, not text", (words, message) => {
    expect(refusal(words)).toEqual({ message, mayBeText: false });
  });

  test.each([
    [["-aj"], `Unknown option -j (in -aj); ${SHORTS}`],
    [["-ja"], `Unknown option -j (in -ja); ${SHORTS}`],
    [["-x"], `Unknown option -x; ${SHORTS}`],
    [["--jsno"], "Unknown option --jsno"],
  ])("%j names the letter or option no option has", (words, message) => {
    expect(refusal(words)).toEqual({ message, mayBeText: true });
  });

  test.each([[["--yes"]], [["--yes=true"]], [["--yes=false"]], [["--no-yes"]], [["-ya"]], [["-p", "now"]], [["-pnow"]], [["-ap", "now"]], [["--priority=now"]], [["-m", "--yes=no"]], [["--", "--yes=no", "-p=now"]]])("%j passes", (words) => {
    expect(refusal(words)).toBeNull();
  });
});
